"""A trained difference to published weights: LoRA factors, stored small and merged before the graph is built.

The file is a NumPy `.npz` (no pickled objects): for each adapted matrix W (out x in) of the
encoder, `<name>.a` (rank x in) and `<name>.b` (out x rank) in float16; for a small tensor changed
as a whole (a bias, a layer norm's scale), `<name>.dense`, the difference itself; and `meta`, a JSON
string with the rank and alpha. Merging is W + (alpha / rank) * B @ A (+ dense), in float32: the
merged model runs exactly as fast as the one it came from (same shapes, same graph).

The factors come from LoRA training, or from a full fine-tune's difference cut to its leading
singular vectors (`low_rank`): the same file either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

# every attention and feed-forward matrix of a BERT layer
LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                "intermediate.dense", "output.dense")


class DeltaError(ValueError):
    """A delta file that is unreadable or does not fit the weights it is merged into."""


def save_lora(path: Path, factors: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float, rank: int,
              dense: dict[str, np.ndarray] | None = None) -> None:
    """Write `factors` ({weight name: (A, B)}) and `dense` differences ({name: array}) to `path` as float16."""
    arrays = {"meta": np.array(json.dumps({"format": "lora", "rank": rank, "alpha": alpha}))}
    for name, (a, b) in sorted(factors.items()):
        arrays[f"{name}.a"] = np.asarray(a, dtype=np.float16)
        arrays[f"{name}.b"] = np.asarray(b, dtype=np.float16)
    for name, diff in sorted((dense or {}).items()):
        arrays[f"{name}.dense"] = np.asarray(diff, dtype=np.float16)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


class Delta(NamedTuple):
    """A delta file's contents, in float32: W + scale * B @ A for each factored matrix, + dense."""

    rank: int
    alpha: float
    factors: dict[str, tuple[np.ndarray, np.ndarray]]  # {weight name: (A, B)}
    dense: dict[str, np.ndarray]  # {tensor name: difference}

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


def read_delta(path: Path) -> Delta:
    """The factors and differences in `path`; DeltaError when it is unreadable or not a LoRA delta."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name].astype(np.float32) for name in data.files if name != "meta"}
    except (OSError, ValueError, KeyError) as exc:
        raise DeltaError(f"{path} is not a readable delta file ({exc})") from exc
    if meta.get("format") != "lora" or not meta.get("rank"):
        raise DeltaError(f"{path}: unknown delta format {meta!r}")
    dense = {key[: -len(".dense")]: value for key, value in arrays.items() if key.endswith(".dense")}
    factors = {}
    for name in sorted({key.rsplit(".", 1)[0] for key in arrays if not key.endswith(".dense")}):
        if f"{name}.a" not in arrays or f"{name}.b" not in arrays:
            raise DeltaError(f"{path}: {name} has only one of its two factors")
        factors[name] = (arrays[f"{name}.a"], arrays[f"{name}.b"])
    return Delta(int(meta["rank"]), float(meta["alpha"]), factors, dense)


def merge_lora(weights: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """A copy of `weights` with the LoRA factors in `path` added to the matrices they adapt."""
    delta = read_delta(path)
    merged = dict(weights)
    for name, diff in delta.dense.items():
        if name not in weights or weights[name].shape != diff.shape:
            raise DeltaError(f"{path}: a difference for {name} of shape {diff.shape}, which the weights "
                             f"do not have")
        merged[name] = weights[name].astype(np.float32) + diff
    for name, (a, b) in delta.factors.items():
        if name not in weights:
            raise DeltaError(f"{path}: factors for {name}, which the weights do not have")
        if (b.shape[0], a.shape[1]) != weights[name].shape:
            raise DeltaError(f"{path}: factors for {name} give {(b.shape[0], a.shape[1])}, "
                             f"the weights have {weights[name].shape}")
        merged[name] = weights[name].astype(np.float32) + delta.scale * (b @ a)
    return merged


def low_rank(difference: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) with B @ A the best rank-`rank` approximation of `difference` (truncated SVD)."""
    u, s, vt = np.linalg.svd(difference.astype(np.float64), full_matrices=False)
    root = np.sqrt(s[:rank])
    return (root[:, None] * vt[:rank]).astype(np.float32), (u[:, :rank] * root).astype(np.float32)
