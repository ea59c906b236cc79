"""Where the model files live, and how to tell whether they are usable."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from patina_lsp.embedding.models import (
    CHOICES,
    DEFAULT_CHOICE,
    MINILM,
    ModelSpec,
    repository_models_dir,
)

INT8_FILE = MINILM.onnx_file("int8")
FP32_FILE = MINILM.onnx_file("fp32")
TOKENIZER_FILE = "tokenizer.json"  # every model here shares all-MiniLM-L6-v2's vocabulary
MANIFEST_FILE = MINILM.manifest_file
VARIANTS = tuple(CHOICES)  # what a user may choose: a model and a precision ("int8", "code", ...)

DIMENSIONS = MINILM.dimensions
MAX_TOKENS = MINILM.max_tokens


class ModelError(RuntimeError):
    """A model file is missing, corrupt or could not be built; the message says which and how to fix it."""


def _source_checkout_models() -> Path | None:
    """`models/` beside `server/` when running from a source checkout (editable install)."""
    return repository_models_dir()


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
    """The model choice from PATINA_MODEL (int8 unless it names another)."""
    value = os.environ.get("PATINA_MODEL", DEFAULT_CHOICE).strip().lower() or DEFAULT_CHOICE
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

    @staticmethod
    def spec(variant: str) -> ModelSpec:
        """The model a choice (`int8`, `fp32`, `code`, `code-fp32`) names."""
        if variant not in VARIANTS:
            raise ModelError(f"unknown model {variant!r}; use one of {', '.join(VARIANTS)}")
        return CHOICES[variant][0]

    def onnx(self, variant: str) -> Path:
        spec = self.spec(variant)
        return self.directory / spec.onnx_file(CHOICES[variant][1])

    def manifest_of(self, spec: ModelSpec) -> Path:
        return self.directory / spec.manifest_file

    def as_dict(self) -> dict[str, str]:
        out = {choice: str(self.onnx(choice)) for choice in VARIANTS}
        return {**out, "tokenizer": str(self.tokenizer), "manifest": str(self.manifest)}

    def missing(self, variant: str | None = None, spec: ModelSpec = MINILM) -> list[Path]:
        """Files needed for `variant` (or for both precisions of `spec`) that do not exist."""
        if variant:
            wanted = [self.tokenizer, self.onnx(variant)]
        else:
            wanted = [self.tokenizer] + [self.directory / spec.onnx_file(p) for p in ("int8", "fp32")]
        return [p for p in wanted if not p.is_file()]

    def stale(self, spec: ModelSpec) -> bool:
        """Whether the built files of `spec` were merged from another delta than the one the spec names
        (the repository's delta changed since they were built: they must be built again)."""
        if not spec.delta:
            return False
        try:
            built = json.loads(self.manifest_of(spec).read_text()).get("delta", {}).get("sha256")
        except (OSError, ValueError, AttributeError):
            return False  # no manifest (files placed by hand) or an unreadable one: verify() says so
        return built != spec.delta_sha256

    def identity(self, variant: str) -> str:
        """The sha256 of the variant's ONNX file (from the manifest when there is one): which build made a vector."""
        path = self.onnx(variant)
        try:
            manifest = self.manifest_of(self.spec(variant))
            recorded = json.loads(manifest.read_text())["files"][path.name]["sha256"]
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
            fetch = "patina models fetch" + ("" if self.spec(variant) is MINILM else f" --model {variant}")
            raise ModelError(f"model file missing: {names}. Run `{fetch}` "
                             f"(or see models/README.md to place the files by hand).")
        manifest = self.manifest_of(self.spec(variant))
        if not manifest.is_file():
            return  # files placed by hand: nothing to check them against
        try:
            recorded = json.loads(manifest.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"model manifest {manifest} is unreadable ({exc}); "
                             f"delete it and run `patina models fetch`") from exc
        for path in (self.tokenizer, self.onnx(variant)):
            expected = recorded.get(path.name, {}).get("sha256") if isinstance(recorded.get(path.name), dict) else None
            if expected and sha256_of(path) != expected:
                raise ModelError(f"model file {path} is corrupt (its sha256 differs from {manifest}); "
                                 f"delete it and run `patina models fetch`")


def model_files(model_dir: str | os.PathLike[str] | None = None) -> ModelFiles:
    """The model files in `model_dir` (or the default directory)."""
    return ModelFiles(default_model_dir(model_dir))
