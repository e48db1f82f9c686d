"""Scene seeds: training draws from its own range, evaluation from HELD_OUT_SEED_BASE + i, so no held-out
scene is ever trained on (train_gmnet.py and evaluate.py both import it from here)."""

HELD_OUT_SEED_BASE = 9_000_000
