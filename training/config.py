"""What the training entry points share about their configuration: `--key=value` overrides of a config
dataclass, the learning-rate schedules, the model grid's tensor shape, and the log line.

Its own module so that train.py and pretrain.py both import it and neither imports the other.
"""
from __future__ import annotations

import dataclasses
import math
import sys


def log(*args) -> None:
    """Progress goes to stderr, flushed at once: runs are long and can be killed at any moment."""
    print(*args, file=sys.stderr, flush=True)


def parse_overrides(argv: list[str], cfg, doc: str = ""):
    """`--key=value` overrides of the config dataclass `cfg`, each converted to the type of the field's default;
    unknown keys rejected. `doc` heads the --help text."""
    defaults = type(cfg)()
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    if any(a in ("-h", "--help") for a in argv):
        print(doc + "\nConfig keys (defaults):\n" + "\n".join(f"  --{k}={getattr(defaults, k)!r}" for k in fields))
        raise SystemExit(0)
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise SystemExit(f"bad argument {arg!r}: use --key=value")
        key, text = arg[2:].split("=", 1)
        if key not in fields:
            raise SystemExit(f"unknown config key {key!r} (known: {', '.join(fields)})")
        default = getattr(defaults, key)
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(text)
                value = text.lower() in ("true", "1")
            else:
                value = type(default)(text)
        except ValueError:
            raise SystemExit(f"--{key}: expected {type(default).__name__}, got {text!r}") from None
        setattr(cfg, key, value)
    return cfg


def tensor_shape(grid: str) -> list[int]:
    """'nx,ny,nz' -> tensor spatial shape [nz, ny, nx] ('nx,ny' -> [ny, nx])."""
    try:
        g = [int(v) for v in grid.split(",")]
    except ValueError:
        raise SystemExit(f"--grid must be comma-separated integers, got {grid!r}") from None
    if len(g) not in (2, 3) or min(g) < 1:
        raise SystemExit(f"--grid needs 2 or 3 positive sizes, got {grid!r}")
    return list(reversed(g))


SCHEDULES = ("constant", "cosine")


def scheduled_lr(lr: float, schedule: str, epoch: int, epochs: int) -> float:
    """The epoch's learning rate. Cosine decay lets the last epochs settle: at a constant rate the weights, and
    with them BatchNorm's running statistics, can keep moving so far that the validation metrics swing from
    one epoch to the next (the lesion-map pre-training's val Dice went between 0 and 0.5)."""
    if schedule == "constant":
        return lr
    return lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
