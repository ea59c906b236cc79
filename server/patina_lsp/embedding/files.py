"""Where the model files live, and how to tell whether they are usable."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

INT8_FILE = "all-MiniLM-L6-v2-int8.onnx"
FP32_FILE = "all-MiniLM-L6-v2.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
VARIANTS = ("int8", "fp32")

DIMENSIONS = 384
MAX_TOKENS = 256


class ModelError(RuntimeError):
    """A model file is missing, corrupt or could not be built; the message says which and how to fix it."""


def _source_checkout_models() -> Path | None:
    """`models/` beside `server/` when running from a source checkout (editable install)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "server" / "patina_lsp").is_dir():
        return root / "models"
    return None


def default_model_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The model directory: the explicit option, then PATINA_MODEL_DIR, then the checkout, then user data."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("PATINA_MODEL_DIR")
    if env:
        return Path(env).expanduser()
    checkout = _source_checkout_models()
    if checkout is not None:
        return checkout
    return Path(platformdirs.user_data_dir("patina", appauthor=False)) / "models"


def default_variant() -> str:
    """The model variant from PATINA_MODEL (int8 unless it says fp32)."""
    value = os.environ.get("PATINA_MODEL", "int8").strip().lower() or "int8"
    if value not in VARIANTS:
        raise ModelError(f"PATINA_MODEL={value!r} is not a model variant; use one of {', '.join(VARIANTS)}")
    return value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelFiles:
    """The paths of one model directory's files."""

    directory: Path

    @property
    def int8(self) -> Path:
        return self.directory / INT8_FILE

    @property
    def fp32(self) -> Path:
        return self.directory / FP32_FILE

    @property
    def tokenizer(self) -> Path:
        return self.directory / TOKENIZER_FILE

    @property
    def manifest(self) -> Path:
        return self.directory / MANIFEST_FILE

    def onnx(self, variant: str) -> Path:
        if variant not in VARIANTS:
            raise ModelError(f"unknown model variant {variant!r}; use one of {', '.join(VARIANTS)}")
        return self.int8 if variant == "int8" else self.fp32

    def as_dict(self) -> dict[str, str]:
        return {"int8": str(self.int8), "fp32": str(self.fp32),
                "tokenizer": str(self.tokenizer), "manifest": str(self.manifest)}

    def missing(self, variant: str | None = None) -> list[Path]:
        """Files needed for `variant` (or for both) that do not exist."""
        wanted = [self.tokenizer] + ([self.onnx(variant)] if variant else [self.int8, self.fp32])
        return [p for p in wanted if not p.is_file()]

    def identity(self, variant: str) -> str:
        """The sha256 of the variant's ONNX file (from the manifest when there is one): which build made a vector."""
        path = self.onnx(variant)
        try:
            recorded = json.loads(self.manifest.read_text())["files"][path.name]["sha256"]
            if isinstance(recorded, str) and len(recorded) == 64:
                return recorded
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return sha256_of(path)

    def verify(self, variant: str) -> None:
        """Raise ModelError unless the files for `variant` exist and match the manifest (when there is one)."""
        missing = self.missing(variant)
        if missing:
            names = ", ".join(str(p) for p in missing)
            raise ModelError(f"model file missing: {names}. Run `patina models fetch` "
                             f"(or see models/README.md to place the files by hand).")
        if not self.manifest.is_file():
            return  # files placed by hand: nothing to check them against
        try:
            recorded = json.loads(self.manifest.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"model manifest {self.manifest} is unreadable ({exc}); "
                             f"delete it and run `patina models fetch`") from exc
        for path in (self.tokenizer, self.onnx(variant)):
            expected = recorded.get(path.name, {}).get("sha256") if isinstance(recorded.get(path.name), dict) else None
            if expected and sha256_of(path) != expected:
                raise ModelError(f"model file {path} is corrupt (its sha256 differs from {self.manifest}); "
                                 f"delete it and run `patina models fetch`")


def model_files(model_dir: str | os.PathLike[str] | None = None) -> ModelFiles:
    """The model files in `model_dir` (or the default directory)."""
    return ModelFiles(default_model_dir(model_dir))
