"""How a Dockerfile is predicted from the command line: the options (`image predict` and `gate`, which
predicts a Dockerfile it is given as IMAGE) and the prediction they make."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from depaudit.cli.output import info
from depaudit.cli.params import Given, pick, value, values
from depaudit.images.lookups import PredictOptions, predict_dockerfile
from depaudit.images.predict import Prediction
from depaudit.settings import Settings
from depaudit.sources.dockerfile import parse_build_args
from depaudit.units import parse_size

PREDICTION = (
    *pick("build_arg", "context", context={"help": "The build context folder (default: the current folder)."}),
    values("base_archive", "--base-image", metavar="[REF=]PATH"),
    value("base_size", "--base-size", parse=parse_size, kind=int),
)


def predictor(
    given: Given,
    settings: Settings,
    *,
    stage: str | None = None,
    python: str | None = None,
    platform: str | None = None,
    wheel_dirs: tuple[Path, ...] = (),
) -> Callable[[str | Path], Prediction]:
    """How to predict a Dockerfile with the options of `PREDICTION` (for `image predict` and `gate`)."""
    archives: dict[str | None, Path] = {}
    for item in given.base_archive or ():
        ref, eq, path = item.rpartition("=") if "=" in item else ("", "", item)
        archives[ref if eq else None] = Path(path)
    options = PredictOptions(
        archives=archives,
        base_size=given.base_size,
        python=python,
        platform=platform,
        wheel_dirs=wheel_dirs,
        allow_hosts=settings.hosts.trusted,
        offline=settings.offline,
        cache_dir=settings.cache_dir,
    )
    args = parse_build_args(given.build_arg)

    def predict(dockerfile: str | Path) -> Prediction:
        return predict_dockerfile(
            Path(dockerfile),
            context=given.context or Path.cwd(),
            build_args=args,
            target=stage,
            options=options,
            say=info,
        )

    return predict
