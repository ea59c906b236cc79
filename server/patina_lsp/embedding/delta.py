"""A trained difference to published weights: LoRA factors, stored small and merged before the graph is built.

The file is a NumPy `.npz` (no pickled objects): for each adapted matrix W (out x in) of the
encoder, `<name>.a` (rank x in) and `<name>.b` (out x rank) in float16, and `meta`, a JSON string
with the rank and alpha. Merging is W + (alpha / rank) * B @ A, in float32: the merged model runs
exactly as fast as the one it came from (same shapes, same graph).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# every attention and feed-forward matrix of a BERT layer
LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "intermediate.dense", "output.dense")


class DeltaError(ValueError):
    """A delta file that is unreadable or does not fit the weights it is merged into."""


def save_lora(path: Path, factors: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float, rank: int) -> None:
    """Write `factors` ({weight name: (A, B)}) to `path` as float16."""
    arrays = {"meta": np.array(json.dumps({"format": "lora", "rank": rank, "alpha": alpha}))}
    for name, (a, b) in sorted(factors.items()):
        arrays[f"{name}.a"] = np.asarray(a, dtype=np.float16)
        arrays[f"{name}.b"] = np.asarray(b, dtype=np.float16)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def merge_lora(weights: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """A copy of `weights` with the LoRA factors in `path` added to the matrices they adapt."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in data.files if name != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise DeltaError(f"{path} is not a readable delta file ({exc})") from exc
    if meta.get("format") != "lora" or not meta.get("rank"):
        raise DeltaError(f"{path}: unknown delta format {meta!r}")
    scale = float(meta["alpha"]) / int(meta["rank"])
    merged = dict(weights)
    names = sorted({name.rsplit(".", 1)[0] for name in arrays})
    for name in names:
        if name not in weights or f"{name}.a" not in arrays or f"{name}.b" not in arrays:
            raise DeltaError(f"{path}: factors for {name}, which the weights do not have")
        a = arrays[f"{name}.a"].astype(np.float32)
        b = arrays[f"{name}.b"].astype(np.float32)
        if (b.shape[0], a.shape[1]) != weights[name].shape:
            raise DeltaError(f"{path}: factors for {name} give {(b.shape[0], a.shape[1])}, "
                             f"the weights have {weights[name].shape}")
        merged[name] = weights[name].astype(np.float32) + scale * (b @ a)
    return merged
