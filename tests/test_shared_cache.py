"""The team's shared embedding cache on a real (throwaway) PostgreSQL, with the real model."""

from __future__ import annotations

import json
import uuid
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from patina_lsp.index.search import SearchQuery
from patina_lsp.index.shared_cache import SharedCache, init_schema
from patina_lsp.index.workspace import open_index
from index_queries import search

LANGS = Path(__file__).parent / "fixtures" / "langs"
QUERIES = ["compute a checksum of a buffer", "parse http headers", "render a template", "area of a shape",
           "start a server"]


class Counting:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner):
        self.inner, self.texts = inner, 0

    def embed(self, texts, cancelled=None):
        self.texts += len(texts)
        return self.inner.embed(texts, cancelled)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def cache_url(postgres_url):
    """A fresh database for each test, with the cache's schema."""
    name = f"t{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    init_schema(url)
    return url


@pytest.fixture
def repo(tmp_path, model_files):
    root = tmp_path / "repo"
    shutil.copytree(LANGS, root)
    return root


def machine(repo, cache_dir, embedder, url, identity=None, shared=True):
    counting = Counting(embedder)
    cache = SharedCache(url, identity or embedder.identity) if shared else None
    return open_index(repo, counting, cache_dir, shared_cache=cache), counting


def top10(index) -> list[list[str]]:
    return [[f"{r.unit.path}:{r.unit.name}" for r in search(index, SearchQuery(q, 10))] for q in QUERIES]


def rows(url) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM patina_vectors").fetchone()[0]


def test_a_second_machine_embeds_nothing_the_first_did(repo, tmp_path, int8_embedder, cache_url):
    first, first_count = machine(repo, tmp_path / "one", int8_embedder, cache_url)
    report = first.update()
    assert first_count.texts == report.embedded > 0 and rows(cache_url) == report.embedded

    second, second_count = machine(repo, tmp_path / "two", int8_embedder, cache_url)
    again = second.update()
    assert second_count.texts == 0 and again.embedded == 0 and again.shared == report.embedded
    assert top10(second) == top10(first)
    assert second.shared_cache.hits == report.embedded and second.shared_cache.misses == 0

    # an edit on the second machine: only the changed unit is embedded, and written back
    path = repo / "sample.py"
    path.write_text(path.read_text() + '\n\ndef reticulate_splines(n):\n    """Reticulate n splines."""\n    return n\n')
    before = rows(cache_url)
    edited = second.update()
    assert second_count.texts == edited.embedded == 1 and rows(cache_url) == before + 1
    for index in (first, second):
        index.store.close()


def test_unreachable_cache_indexes_locally_with_a_message(repo, tmp_path, int8_embedder):
    plain, _ = machine(repo, tmp_path / "plain", int8_embedder, "postgresql://postgres@127.0.0.1:1/none",
                       shared=False)
    plain.update()
    index, counting = machine(repo, tmp_path / "c", int8_embedder, "postgresql://postgres@127.0.0.1:1/none")
    report = index.update()
    assert report.stopped is None and counting.texts == report.embedded > 0
    assert "cannot reach the shared cache postgresql://postgres@127.0.0.1:1/none" in index.shared_cache.problem
    assert top10(index) == top10(plain)
    for i in (plain, index):
        i.store.close()


def test_a_cache_killed_mid_index_and_a_corrupt_row(repo, tmp_path, int8_embedder, cache_url, monkeypatch):
    first, _ = machine(repo, tmp_path / "one", int8_embedder, cache_url)
    total = first.update().embedded
    with psycopg.connect(cache_url, autocommit=True) as conn:  # one row damaged: NaN in its vector
        conn.execute("UPDATE patina_vectors SET vec = %s WHERE hash = (SELECT hash FROM patina_vectors LIMIT 1)",
                      (np.full(384, np.nan, dtype="<f4").tobytes(),))
    second, counting = machine(repo, tmp_path / "two", int8_embedder, cache_url)
    report = second.update()
    assert second.shared_cache.bad == 1 and counting.texts == 1 and report.shared == total - 1
    assert top10(second) == top10(first)

    # the server goes away in the middle of a run (lookups of 5 texts at a time): the run finishes locally
    monkeypatch.setattr("patina_lsp.index.vector_supply.PREFETCH_BATCH", 5)
    third, counting = machine(repo, tmp_path / "three", int8_embedder, cache_url)
    real_lookup = third.shared_cache.lookup
    calls = {"n": 0}

    def lookup_then_kill(hashes):
        calls["n"] += 1
        if calls["n"] == 3:
            with psycopg.connect(cache_url, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return real_lookup(hashes)

    third.shared_cache.lookup = lookup_then_kill
    report = third.update()
    assert report.stopped is None and third.shared_cache.problem and 0 < counting.texts < total
    assert report.embedded + report.shared == total
    assert top10(third) == top10(first)
    for i in (first, second, third):
        i.store.close()


def test_vectors_of_another_model_build_are_never_used(repo, tmp_path, int8_embedder, cache_url):
    first, _ = machine(repo, tmp_path / "one", int8_embedder, cache_url)
    total = first.update().embedded
    other, counting = machine(repo, tmp_path / "two", int8_embedder, cache_url, identity="ab" * 32)
    assert other.update().shared == 0 and counting.texts == total
    for i in (first, other):
        i.store.close()


def test_cli_init_index_and_stats(repo, tmp_path, cache_url):
    def patina(*args):
        return subprocess.run([sys.executable, "-m", "patina_lsp", *args], capture_output=True, text=True, timeout=300)

    assert patina("cache", "init", cache_url).returncode == 0  # idempotent
    filled = patina("index", "--shared-cache", cache_url, "--cache-dir", str(tmp_path / "ci"), str(repo))
    assert filled.returncode == 0 and "0 from the shared cache" in filled.stderr, filled.stderr
    cold = patina("index", "--shared-cache", cache_url, "--cache-dir", str(tmp_path / "dev"), str(repo))
    assert "(0 texts embedded" in cold.stderr and "from the shared cache" in cold.stderr, cold.stderr
    stats = json.loads(patina("cache", "stats", "--json", cache_url).stdout)
    assert stats["rows"] > 0 and stats["models"] == 1 and stats["lastRun"]["hitRate"] == 1.0
    wrong = patina("cache", "stats", "postgresql://postgres@127.0.0.1:1/none")
    assert wrong.returncode == 2 and "cannot reach the shared cache" in wrong.stderr


def test_two_servers_on_two_machines_share_through_the_cache(repo, tmp_path, cache_url):
    from stdio_client import StdioClient

    statuses = []
    for n in range(2):
        client = StdioClient([sys.executable, "-m", "patina_lsp", "lsp"], cwd=str(repo),
                             stderr_path=str(tmp_path / f"server{n}.err"))
        client.initialize(str(repo), {"cacheDir": str(tmp_path / f"machine{n}"), "sharedCache": cache_url})
        while (status := client.request("patina/status", {}))["state"] != "ready":
            time.sleep(0.1)
        statuses.append(status)
        client.shutdown()
    first, second = statuses
    assert first["textsEmbedded"] > 0 and first["textsFromSharedCache"] == 0
    assert second["textsEmbedded"] == 0 and second["textsFromSharedCache"] == first["textsEmbedded"]
    assert "message" not in second or "shared cache" not in second["message"]
