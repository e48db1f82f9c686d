"""`image compare` merges both images' full package lists before cutting to the top rows."""

from __future__ import annotations

from depaudit.model import ImageMeasurement
from depaudit.render.image_measurements import comparison, render_comparison_markdown


def _image(name: str, packages: dict[str, int]) -> ImageMeasurement:
    ordered = sorted(packages.items(), key=lambda item: -item[1])
    return ImageMeasurement(
        image=name, size=sum(packages.values()), compressed_size=None, python_packages=tuple(ordered)
    )


def test_a_package_on_both_sides_shows_both_sizes_even_when_small_on_one():
    # numpy is large in "before" but small in "after"; a per-image cut to 2 rows would have dropped it
    # from "after" and shown it as absent there.
    before = _image("before", {"torch==2.8.0": 900, "numpy==2.4.6": 70, "pillow==13.0.0": 20})
    after = _image("after", {"onnxruntime==1.32.0": 80, "pillow==13.0.0": 20, "starlette==1.0": 15, "numpy==2.4.6": 5})
    rows = {p["name"]: (p["before"], p["after"]) for p in comparison(before, after, top=3)["packages"]}
    assert rows == {"torch": (900, None), "onnxruntime": (None, 80), "numpy": (70, 5)}
    text = render_comparison_markdown(before, after, top=3)
    assert "| numpy | 70 B | 5 B |" in text and "starlette" not in text


def test_without_a_cut_every_package_of_both_images_is_listed():
    before, after = _image("b", {"a==1": 3, "b==1": 2}), _image("a", {"b==2": 1, "c==1": 4})
    names = [p["name"] for p in comparison(before, after)["packages"]]
    assert names == ["c", "a", "b"]
