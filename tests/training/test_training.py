"""The dev-only training code: its data, its loss, its initialisation and that a run is reproducible.

Needs torch (the dev group); skipped with that reason without it.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="training is a dev step and needs torch (dev group)")

from reference_service.model_torch import GMNet  # noqa: E402
from training import train_gmnet  # noqa: E402
from training.train_gmnet import Config, gmnet_loss, initialise, training_batch  # noqa: E402


def test_a_training_batch_is_one_scene_with_patches_that_hold_highlights():
    cfg = Config(patches=4, patch=64)
    batch = training_batch(3, cfg)
    assert batch["thumb"].shape == (1, 3, 256, 256) and batch["x"].shape == (4, 3, 64, 64)
    assert batch["ngm"].shape == (4, 1, 64, 64) and 0 <= float(batch["qnet"]) <= 1
    assert float(batch["ngm"][:3].amax()) > 0  # highlight-centred patches contain gain
    again = training_batch(3, cfg)
    assert all(torch.equal(batch[k], again[k]) for k in batch)  # a step's data is a function of the step


def test_the_loss_is_the_original_when_unweighted():
    g = torch.rand(2, 1, 8, 8)
    ngm = torch.rand(2, 1, 8, 8)
    q, qnet = torch.tensor([0.5, 0.7]), torch.tensor([0.6, 0.9])
    original = torch.nn.functional.l1_loss(g, ngm) + 3 * torch.nn.functional.l1_loss(
        q.reshape(-1, 1, 1, 1) * g, qnet.reshape(-1, 1, 1, 1) * ngm
    )
    assert float(gmnet_loss(g, q, ngm, qnet)) == pytest.approx(float(original), rel=1e-6)
    assert float(gmnet_loss(g, q, ngm, qnet, 9.0)) != pytest.approx(float(original), rel=1e-3)


def test_initialisation_keeps_the_original_layout_and_starts_residuals_small():
    model = GMNet()
    keys = set(model.state_dict())
    initialise(model, 1, 0.8)
    assert set(model.state_dict()) == keys
    assert float(model.res1[0].conv2.weight.detach().std()) < 0.2 * float(model.res1[0].conv1.weight.detach().std())
    assert float(model.sq_ker.conv[4].bias.detach().mean()) == pytest.approx(1 / 9)


@pytest.mark.slow  # three optimiser steps twice on the full model: tens of seconds on 2 vCPUs
def test_two_runs_of_the_same_steps_give_the_same_weights(tmp_path):
    cfg = Config(steps=3, patches=1, patch=32, eval_every=3, eval_scenes=1, precision="fp32", threads=1)
    first = train_gmnet.run(cfg, tmp_path / "a.pt", save_every=100)["model"].state_dict()
    second = train_gmnet.run(cfg, tmp_path / "b.pt", save_every=100)["model"].state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
