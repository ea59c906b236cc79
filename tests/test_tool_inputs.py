"""The measuring and training tools refuse bad input with a message that says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from patina_lsp.embedding.delta import read_delta

REPO = Path(__file__).resolve().parents[1]
DELTA = REPO / "models" / "code-MiniLM-L6-v2.lora.npz"


def run(*argv: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True, timeout=120)


def differences(path: Path) -> dict[str, np.ndarray]:
    delta = read_delta(path)
    return {name: delta.scale * (b.astype(np.float64) @ a) for name, (a, b) in delta.factors.items()}


def test_delta_quality_names_a_missing_delta(tmp_path):
    done = run(REPO / "tests" / "benchmarks" / "delta_quality.py", tmp_path / "none.npz", "--work", tmp_path)
    assert done.returncode == 2 and "none.npz: no such file" in done.stderr, done.stderr


def test_delta_quality_says_how_to_build_a_missing_set(tmp_path):
    done = run(REPO / "tests" / "benchmarks" / "delta_quality.py", DELTA, "--work", tmp_path, "--sets", "npm-nodoc")
    assert done.returncode == 2, done.stderr
    assert f"not built in {tmp_path}: npm-nodoc" in done.stderr
    assert "quality.py --sets npm-nodoc" in done.stderr


def test_interpolate_refuses_a_scale_of_zero(tmp_path):
    out = tmp_path / "out.npz"
    done = run(REPO / "models" / "train" / "interpolate.py", DELTA, "--scale", "0", "--out", out)
    assert done.returncode == 2 and "--scale must be above 0" in done.stderr, done.stderr
    assert not out.exists()


def test_interpolate_scales_one_delta(tmp_path):
    out = tmp_path / "half.npz"
    done = run(REPO / "models" / "train" / "interpolate.py", DELTA, "--scale", "0.5", "--out", out)
    assert done.returncode == 0, done.stderr
    shipped, half = differences(DELTA), differences(out)
    assert shipped.keys() == half.keys()
    for name, diff in shipped.items():  # factors are stored in float16: a thousandth of the largest entry
        assert np.abs(half[name] - 0.5 * diff).max() <= 1e-3 * np.abs(diff).max(), name
