"""Train GMNet (original architecture and state_dict keys) on procedural SDR -> HDR scene pairs.

    nice -n 10 python -m training.train_gmnet            # resumable; writes the checkpoint and reports/training.*

Data: every step renders one new scene (``reference_service.scenes``; seeds 1,000,000 + step, never the
held-out seeds), makes its 256 x 256 thumbnail exactly as the service does (``preprocess.to_thumbnail``)
and cuts ``--patches`` square patches from the full-resolution SDR image, three in four centred on pixels
that gain over 0.1 stop (the highlights the model must learn to find) and the rest anywhere.

Loss: the original GMNet training loss, ``L1(gain_map, NGM) + 3 * L1(qmax * gain_map, NGM * Qmax / log2 PEAK)``
(the paper's code normalises its second target by log2 of the dataset peak), with every pixel weighted by
``1 + 4 * NGM`` (mean 1): a run with the unweighted loss at lr 5e-4 had, after 100 steps, collapsed to a flat
map near 0 (most pixels gain nothing, and L1 pulls towards the median) with a rising loss. The thumbnail branch runs once
per scene and its kernel, channel gate and qmax are shared by that scene's patches (``GMNet.global_branch``
and ``GMNet.local_branch`` are the two halves of ``GMNet.predict``).

Initialisation (a training choice; the architecture is untouched): Kaiming-normal (fan_in, ReLU) for every
convolution, biases 0, except that each residual block's second convolution, the last layer of every
squeeze head and ``conv_last`` are scaled by 0.1 (residual blocks start close to the identity, the heads
close to constant), the dynamic kernel's bias starts at 1/9 (a box filter: the depthwise step passes
features on instead of scrambling them) and ``sq_qmax`` starts at the training set's mean. The original
initialisation (x0.1 everywhere) gives outputs of about 1e-14 and trains far too slowly for a CPU budget.

Deterministic for a given machine kind: one torch seed, scene seeds derived from the step number, Adam
(betas 0.9/0.99) with a linear warm-up and a cosine decay, gradient norm clipped at 1. On CPUs with
AVX-512 BF16 / AMX (read from /proc/cpuinfo) convolutions run under bf16 autocast (``--precision auto``;
about 1.6x faster here); weights, optimiser and loss stay float32. Progress is saved every
``--save-every`` steps to ``--state`` and a rerun resumes from it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from reference_service import scenes
from reference_service.model_torch import GMNet, ResidualBlock, count_parameters
from reference_service.preprocess import to_thumbnail
from reference_service.verify import machine, write_atomic
from reference_service.weights import save_state_dict
from training import evaluate
from training.seeds import HELD_OUT_SEED_BASE

REPO = Path(__file__).resolve().parents[1]
TRAIN_SEED_BASE = 1_000_000
SCENE_SIDES = (192, 224, 256, 288, 320, 384)
QMAX_LOSS_WEIGHT = 3.0


@dataclass
class Config:
    """Everything that determines the run (written into the report)."""

    steps: int = 450
    patches: int = 4
    patch: int = 64
    lr: float = 2e-4
    highlight_weight: float = 4.0
    lr_min: float = 2e-5
    warmup: int = 30
    seed: int = 20251201
    precision: str = "auto"
    eval_every: int = 50
    eval_scenes: int = 6
    threads: int = 2


def bf16_supported() -> bool:
    """True when the CPU advertises AVX-512 BF16 or AMX-BF16 (bf16 autocast then runs natively)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def initialise(model: GMNet, seed: int, qmax_mean: float) -> None:
    """The initialisation described in the module docstring, drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in", generator=generator)
                nn.init.zeros_(module.bias)
        small = [block.conv2 for block in model.modules() if isinstance(block, ResidualBlock)]
        small += [model.sq_ker.conv[4], model.sq_chn.conv[4], model.sq_qmax.conv[4], model.conv_last]
        for conv in small:
            conv.weight.mul_(0.1)
        model.sq_ker.conv[4].bias.fill_(1.0 / 9.0)
        model.sq_qmax.conv[4].bias.fill_(qmax_mean)
        model.conv_last.bias.fill_(0.05)


def _patch_corners(rng: np.random.Generator, pair: scenes.ScenePair, count: int, size: int) -> list[tuple[int, int]]:
    h, w = pair.gain_stops.shape
    bright = np.argwhere(pair.gain_stops > 0.1)
    corners = []
    for i in range(count):
        if i % 4 != 3 and len(bright):
            cy, cx = bright[int(rng.integers(len(bright)))]
        else:
            cy, cx = int(rng.integers(h)), int(rng.integers(w))
        top = int(np.clip(cy - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, h - size))
        left = int(np.clip(cx - size // 2 + rng.integers(-size // 4, size // 4 + 1), 0, w - size))
        corners.append((top, left))
    return corners


def training_batch(step: int, cfg: Config) -> dict[str, torch.Tensor]:
    """The scene for ``step``: thumbnail (1,3,256,256), patches (K,3,P,P), NGM patches (K,1,P,P), Qmax/log2 PEAK."""
    rng = np.random.default_rng([cfg.seed, step])
    h, w = (int(rng.choice(SCENE_SIDES)) for _ in range(2))
    pair = scenes.make_pair(TRAIN_SEED_BASE + step, h, w)
    ngm = pair.ngm
    images, targets = [], []
    for top, left in _patch_corners(rng, pair, cfg.patches, cfg.patch):
        image = pair.sdr[top : top + cfg.patch, left : left + cfg.patch]
        target = ngm[top : top + cfg.patch, left : left + cfg.patch]
        if rng.random() < 0.5:  # mirror: a scene's left and right are equally plausible
            image, target = image[:, ::-1], target[:, ::-1]
        images.append(image.transpose(2, 0, 1))
        targets.append(target[None])
    return {
        "thumb": torch.from_numpy(np.ascontiguousarray(to_thumbnail(pair.sdr).transpose(2, 0, 1)[None])),
        "x": torch.from_numpy(np.ascontiguousarray(np.stack(images))),
        "ngm": torch.from_numpy(np.ascontiguousarray(np.stack(targets))),
        "qnet": torch.tensor([pair.qmax_net], dtype=torch.float32),
    }


def gmnet_loss(
    gain: torch.Tensor, qmax: torch.Tensor, ngm: torch.Tensor, qnet: torch.Tensor, highlight_weight: float = 0.0
) -> torch.Tensor:
    """The original loss, L1 on the normalized gain map plus 3 x L1 on qmax x gain map, with each pixel's
    terms weighted by ``1 + highlight_weight * NGM`` (normalised to mean 1): with ``highlight_weight = 0``
    exactly the original. Most pixels gain nothing, so unweighted L1 first drives the map towards zero
    everywhere; the weight makes a few hundred CPU steps learn the highlights (the original trains for a
    million GPU iterations)."""
    q = qmax.reshape(-1, 1, 1, 1)
    weight = 1.0 + highlight_weight * ngm
    weight = weight / weight.mean()
    target_q = qnet.reshape(-1, 1, 1, 1) * ngm
    return (weight * (gain - ngm).abs()).mean() + QMAX_LOSS_WEIGHT * (weight * (q * gain - target_q).abs()).mean()


def held_out_batches(count: int, height: int = 128, width: int = 192) -> list[dict[str, torch.Tensor]]:
    """Whole held-out scenes (seeds HELD_OUT_SEED_BASE + i) for the loss curve."""
    out = []
    for i in range(count):
        pair = scenes.make_pair(HELD_OUT_SEED_BASE + i, height, width)
        out.append(
            {
                "thumb": torch.from_numpy(to_thumbnail(pair.sdr).transpose(2, 0, 1)[None].copy()),
                "x": torch.from_numpy(pair.sdr.transpose(2, 0, 1)[None].copy()),
                "ngm": torch.from_numpy(pair.ngm[None, None].copy()),
                "qnet": torch.tensor([pair.qmax_net], dtype=torch.float32),
            }
        )
    return out


def held_out_loss(model: GMNet, batches: list[dict[str, torch.Tensor]]) -> float:
    """Mean loss over whole held-out scenes, in float32 and eval mode."""
    model.eval()
    with torch.inference_mode():
        losses = [float(gmnet_loss(*model.predict(b["x"], b["thumb"]), b["ngm"], b["qnet"])) for b in batches]
    model.train()
    return float(np.mean(losses))


def learning_rate(step: int, cfg: Config) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr_min at cfg.steps."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, progress)))


def train_step(
    model: GMNet, optimiser: torch.optim.Optimizer, batch: dict, bf16: bool, highlight_weight: float
) -> float:
    """One optimiser step on one scene's patches; returns the loss."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        kernel, chn, qmax = model.global_branch(batch["thumb"])
        index = torch.zeros(batch["x"].shape[0], dtype=torch.long)
        gain = model.local_branch(batch["x"], kernel[index], chn[index])
    loss = gmnet_loss(
        gain.float(), qmax.float()[index], batch["ngm"], batch["qnet"].expand(len(index)), highlight_weight
    )
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimiser.step()
    return float(loss.detach())


def _fresh_state(cfg: Config) -> dict:
    torch.manual_seed(cfg.seed)
    model = GMNet()
    qmax_mean = float(np.mean([scenes.make_pair(TRAIN_SEED_BASE - 1 - i, 96, 96).qmax_net for i in range(32)]))
    initialise(model, cfg.seed, qmax_mean)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    return {"model": model, "optimiser": optimiser, "step": 0, "curve": [], "seconds": 0.0, "loads": []}


def _save_state(path: Path, state: dict, cfg: Config) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "config": asdict(cfg),
            "model": state["model"].state_dict(),
            "optimiser": state["optimiser"].state_dict(),
            "step": state["step"],
            "curve": state["curve"],
            "seconds": state["seconds"],
            "loads": state["loads"],
        },
        tmp,
    )
    os.replace(tmp, path)


def _load_state(path: Path, cfg: Config) -> dict | None:
    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved["config"] != asdict(cfg):
        raise SystemExit(f"{path}: saved run used different settings; delete it or pass the same options")
    state = _fresh_state(cfg)
    state["model"].load_state_dict(saved["model"])
    state["optimiser"].load_state_dict(saved["optimiser"])
    state.update(step=saved["step"], curve=saved["curve"], seconds=saved["seconds"], loads=saved["loads"])
    return state


def run(cfg: Config, state_path: Path, save_every: int) -> dict:
    """Train (resuming from ``state_path`` when it holds the same run); returns the final state."""
    torch.set_num_threads(cfg.threads)
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and bf16_supported())
    state = _load_state(state_path, cfg) or _fresh_state(cfg)
    model, optimiser = state["model"].train(), state["optimiser"]
    held_out = held_out_batches(cfg.eval_scenes)
    window: list[float] = []
    while state["step"] < cfg.steps:
        step = state["step"]
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(step, cfg)
        started = time.perf_counter()
        window.append(train_step(model, optimiser, training_batch(step, cfg), bf16, cfg.highlight_weight))
        state["seconds"] += time.perf_counter() - started
        state["step"] = step + 1
        if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps:
            load = os.getloadavg()[0]
            point = {
                "step": state["step"],
                "train_loss": float(np.mean(window)),
                "held_out_loss": held_out_loss(model, held_out),
                "seconds": round(state["seconds"], 1),
                "load1": round(load, 2),
            }
            state["curve"].append(point)
            state["loads"].append(load)
            window = []
            print(
                f"step {point['step']}/{cfg.steps}: train {point['train_loss']:.4f}, held-out "
                f"{point['held_out_loss']:.4f}, {point['seconds']:.0f} s, load {load:.1f}",
                file=sys.stderr,
                flush=True,
            )
        if state["step"] % save_every == 0:
            _save_state(state_path, state, cfg)
    _save_state(state_path, state, cfg)
    state["precision"] = "bf16 autocast" if bf16 else "float32"
    return state


def main(argv: list[str] | None = None) -> int:
    """CLI: train, write the checkpoint and reports/training.json, then evaluate on held-out scenes."""
    parser = argparse.ArgumentParser(prog="python -m training.train_gmnet", description=__doc__.splitlines()[0])
    defaults = Config()
    for name, value in asdict(defaults).items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    parser.add_argument("--output", type=Path, default=REPO / "reference_service" / "assets" / "gmnet_synthetic.pth")
    parser.add_argument("--state", type=Path, default=REPO / "training" / ".state" / "gmnet_train.pt")
    parser.add_argument("--save-every", type=int, default=25)
    parser.add_argument("--report-dir", type=Path, default=REPO / "reports")
    args = parser.parse_args(argv)
    cfg = Config(**{name: getattr(args, name) for name in asdict(defaults)})
    wall = time.time()
    load_start = os.getloadavg()
    state = run(cfg, args.state, args.save_every)
    model = state["model"].eval()
    save_state_dict({k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}, args.output)
    report = {
        "schema": 1,
        "command": "python -m training.train_gmnet " + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": asdict(cfg),
        "parameters": count_parameters(model),
        "precision": state["precision"],
        "machine": machine(),
        "train_seconds": round(state["seconds"], 1),
        "wall_seconds_this_invocation": round(time.time() - wall, 1),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "load1_mean_during_training": round(float(np.mean(state["loads"])), 2) if state["loads"] else None,
        "curve": state["curve"],
        "checkpoint": str(args.output.relative_to(REPO) if args.output.is_relative_to(REPO) else args.output),
    }
    write_atomic(args.report_dir / "training.json", json.dumps(report, indent=2) + "\n")
    print(
        f"wrote {args.output} and {args.report_dir / 'training.json'}; evaluating on held-out scenes", file=sys.stderr
    )
    return evaluate.main(["--checkpoint", str(args.output), "--report-dir", str(args.report_dir)])


if __name__ == "__main__":
    raise SystemExit(main())
