"""Retrieval quality through the server with another delta in place of the code model's.

    python tests/benchmarks/delta_quality.py DELTA.npz [--sets rust-nodoc npm-nodoc ...]
                                             [--work /tmp/patina-eval] [--copy /tmp/patina-delta-NAME]

What quality.py gives for `model: "code"`, but with DELTA.npz (train.py's factors, a blend or a
scaled delta from models/train/interpolate.py) merged instead of models/code-MiniLM-L6-v2.lora.npz,
so that a delta is measured exactly as the one that ships. The server only merges the delta its
model spec names by sha256, so this runs a copy of the repository's committed HEAD (`git clone`)
whose delta file and sha256 are DELTA's: `patina models fetch --model code` builds its ONNX files
there, and quality.py runs from there with that copy's package first on the path. The sets are
quality.py's, built in WORK once (`quality.py --sets ...` builds them) and linked into the copy's own
work folder, so its caches never touch another run's: runs for several deltas can go side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODELS_PY = Path("server/patina_lsp/embedding/models.py")
SHIPPED = "code-MiniLM-L6-v2.lora.npz"


def make_copy(delta: Path, copy: Path) -> None:
    """A clone of HEAD at `copy` that names `delta` as the code model's delta."""
    if copy.exists():
        shutil.rmtree(copy)
    subprocess.run(["git", "clone", "-q", str(REPO), str(copy)], check=True)
    shutil.copyfile(delta, copy / "models" / SHIPPED)
    digest = hashlib.sha256(delta.read_bytes()).hexdigest()
    spec = copy / MODELS_PY
    text, count = re.subn(r'delta_sha256="[0-9a-f]{64}"', f'delta_sha256="{digest}"', spec.read_text())
    if count != 1:
        raise SystemExit(f"{MODELS_PY}: expected one delta_sha256, found {count}")
    spec.write_text(text)
    shared = REPO.parent / "shared"
    if shared.is_dir() and not (copy.parent / "shared").exists():
        (copy.parent / "shared").symlink_to(shared)  # quality.py finds ../shared/eval beside the copy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("delta", type=Path)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django", "rust-nodoc", "npm-nodoc"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/patina-eval"), help="where quality.py built the sets")
    ap.add_argument("--copy", type=Path, help="where the copy goes (default: /tmp/patina-delta-<the delta's name>)")
    args = ap.parse_args()
    if not args.delta.is_file():
        ap.error(f"{args.delta}: no such file")
    missing = [name for name in args.sets if not (args.work / name / "queries.jsonl").is_file()]
    if missing:
        ap.error(f"not built in {args.work}: {' '.join(missing)} (python tests/benchmarks/quality.py --sets "
                 f"{' '.join(missing)} --work {args.work} builds them)")
    copy = args.copy or Path(f"/tmp/patina-delta-{args.delta.stem}")
    make_copy(args.delta.resolve(), copy)
    work = copy / "eval"
    work.mkdir()
    for name in args.sets:
        (work / name).symlink_to((args.work / name).resolve())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(copy / "server"), os.environ.get("PYTHONPATH", "")])}
    env.pop("PATINA_MODEL_DIR", None)  # the copy's own models/
    subprocess.run([sys.executable, "-m", "patina_lsp", "models", "fetch", "--model", "code"], cwd=copy, env=env,
                   check=True)
    done = subprocess.run([sys.executable, str(copy / "tests" / "benchmarks" / "quality.py"), "--options",
                           '{"model": "code"}', "--work", str(work), "--sets", *args.sets], cwd=copy, env=env)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
