"""Shared fixtures: the real models (built by the project's pipeline) and the golden vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# reference vectors from sentence-transformers (FP32) for 21 texts, with the source files' hashes
GOLDEN = REPO / "tests" / "data" / "all-MiniLM-L6-v2.json"


@pytest.fixture(scope="session")
def model_files():
    """The model files, built by `patina models fetch` on first use."""
    from patina_lsp.embedding.build import fetch_models
    from patina_lsp.embedding.files import model_files as locate

    files = locate()
    fetch_models(files, print)
    return files


@pytest.fixture(scope="session")
def code_model_files(model_files):
    """The code model's files (the base weights with models/'s delta merged), built on first use."""
    from patina_lsp.embedding.build import fetch_models
    from patina_lsp.embedding.models import CODE

    fetch_models(model_files, print, spec=CODE)
    return model_files


@pytest.fixture(scope="session")
def code_int8_embedder(code_model_files):
    from patina_lsp.embedding import Embedder

    return Embedder(code_model_files, "code")


@pytest.fixture(scope="session")
def code_fp32_embedder(code_model_files):
    from patina_lsp.embedding import Embedder

    return Embedder(code_model_files, "code-fp32")


@pytest.fixture(scope="session")
def golden():
    """(texts, unit reference vectors, token counts) from the golden file (test data of the repository)."""
    data = json.loads(GOLDEN.read_text())
    texts = [item["text"] for item in data["items"]]
    ref = np.array([item["embedding"] for item in data["items"]], dtype=np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    return texts, ref, [item["tokens_before_truncation"] for item in data["items"]]


@pytest.fixture(scope="session")
def int8_embedder(model_files):
    from patina_lsp.embedding import Embedder

    return Embedder(model_files, "int8")


@pytest.fixture(scope="session")
def fp32_embedder(model_files):
    from patina_lsp.embedding import Embedder

    return Embedder(model_files, "fp32")


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (skipped without PostgreSQL; a failure when PATINA_REQUIRE_POSTGRES=1)."""
    import os

    from postgres import binaries, cluster

    if binaries() is None:
        if os.environ.get("PATINA_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is not installed and PATINA_REQUIRE_POSTGRES=1")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with cluster() as url:
        yield url


# what makes a test slow: the real model (built on first use), a real server, an editor or a database
SLOW_FIXTURES = {"model_files", "code_model_files", "int8_embedder", "fp32_embedder", "code_int8_embedder",
                 "code_fp32_embedder", "postgres_url"}
SLOW_FOLDERS = {"e2e", "editors"}


def pytest_collection_modifyitems(config, items):
    """Mark `slow` every test that needs the model, a server over stdio, an editor or PostgreSQL, so
    `python -m pytest -m "not slow"` is the quick loop (pure domain code, a few seconds)."""
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in SLOW_FOLDERS or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
