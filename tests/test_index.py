"""The workspace index with the real INT8 model: incremental updates, persistence, recovery, filters, related."""

from __future__ import annotations

import os
import shutil
import time
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from patina_lsp.index.search import SearchQuery
from patina_lsp.index.text import ANALYSIS
from patina_lsp.index.workspace import open_index
from index_queries import search, related

LANGS = Path(__file__).parent / "fixtures" / "langs"


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(LANGS, root)
    return root


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def names(results):
    return [r.unit.name for r in results]


def build(root, embedder, cache, **kw):
    index = open_index(root, embedder, cache, **kw)
    index.update()
    return index


def test_semantic_search_finds_the_described_symbol(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    # two fixtures parse HTTP headers (Python and JavaScript): both, before anything else
    assert set(names(search(index, SearchQuery("parse the http response headers", 2)))) == {
        "parse_http_headers", "parseHeaders"}
    assert names(search(index, SearchQuery("render templates with a context", 3, "semantic")))[0] in (
        "TemplateRenderer", "render")
    assert names(search(index, SearchQuery("checksum of a buffer", 3, "lexical")))[0] == "checksum"


def test_a_query_that_names_an_identifier_lands_on_it_first(tmp_path, int8_embedder, cache):
    """An identifier typed as the query wins over units that only share its words or its meaning."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "perms.py").write_text(
        "def get_all_permissions(user):\n    return user.groups.permissions | user.permissions\n\n\n"
        "def get_group_permissions(user):\n    return user.groups.permissions\n\n\n"
        "def all_permissions_for(user, obj):\n    return {p for p in get_all_permissions(user) if p.applies(obj)}\n\n\n"
        "def has_permission(user, name):\n    return name in get_all_permissions(user)\n")
    (root / "perms.rs").write_text(
        "pub fn get_all_permissions(user: &User) -> Vec<Permission> {\n    user.permissions.clone()\n}\n\n"
        "pub fn permissions_of_group(group: &Group) -> Vec<Permission> {\n    group.permissions.clone()\n}\n")
    index = build(root, int8_embedder, cache)
    for query, path in (("get_all_permissions", None), ("getAllPermissions", None),
                        ("get_group_permissions", "perms.py"), ("permissions_of_group", "perms.rs")):
        top = search(index, SearchQuery(query, 5))[0].unit
        assert top.name.replace("_", "").lower() == query.replace("_", "").lower(), (query, top.name)
        assert path is None or top.path == path
    index.store.close()


def test_results_are_per_unit_never_duplicates(workspace, int8_embedder, cache):
    long_body = "\n".join(f"    total += compute_value_{i}(item, factor={i})" for i in range(120))
    (workspace / "long.py").write_text(f"def accumulate(items):\n    \"\"\"Sum the values.\"\"\"\n"
                                       f"    total = 0\n{long_body}\n    return total\n")
    from patina_lsp.index.chunks import POLICIES

    index = build(workspace, int8_embedder, cache, texts=POLICIES["all-windows"])  # several vectors a unit
    [unit] = [u for _, u in index.searcher().units() if u.name == "accumulate"]
    assert index.searcher().vector_count(unit.path, unit.span.start_line) > 2  # summary + several windows
    results = search(index, SearchQuery("compute value total", 50))
    keys = [(r.unit.path, r.unit.span.start_line, r.unit.name) for r in results]
    assert len(keys) == len(set(keys))


def test_filters(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    only_rust = search(index, SearchQuery("area", 20, languages=("rust",)))
    assert only_rust and {r.unit.language for r in only_rust} == {"rust"}
    classes = search(index, SearchQuery("render", 20, kinds=("class",)))
    assert classes and {r.unit.kind for r in classes} == {"class"}
    by_path = search(index, SearchQuery("server", 20, paths=("*.go",)))
    assert by_path and {r.unit.path for r in by_path} == {"a.go"}
    assert search(index, SearchQuery("server", 20, paths=("nothing/**",))) == []


def test_related_excludes_itself_and_overlaps(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    render = next(u for _, u in index.searcher().units() if u.name == "render")
    results = related(index, "sample.py", line=render.span.start_line + 1, limit=5)
    assert results
    for r in results:
        assert not (r.unit.path == "sample.py" and r.unit.span.overlaps(render.span))
    assert "render_async" in names(results)
    by_text = related(index, "sample.py", text="def area(self): return 0.0", limit=3)
    assert "area" in names(by_text)


def test_a_documented_c_prototype_is_found_and_is_not_related_to_its_own_definition(tmp_path, int8_embedder, cache):
    root = tmp_path / "ws"
    (root / "include").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "include" / "blob.h").write_text(
        "/**\n * Lookup a blob object from a repository.\n */\n"
        "GIT_EXTERN(int) git_blob_lookup(git_blob **out, git_repository *repo, const git_oid *id);\n\n"
        "/** Close an open blob and free its memory. */\nGIT_EXTERN(void) git_blob_free(git_blob *blob);\n")
    (root / "src" / "blob.c").write_text(
        "int git_blob_lookup(git_blob **out, git_repository *repo, const git_oid *id)\n{\n"
        "\treturn git_object_lookup((git_object **)out, repo, id, GIT_OBJECT_BLOB);\n}\n\n"
        "void git_blob_free(git_blob *blob)\n{\n\tgit_object_free((git_object *)blob);\n}\n")
    index = build(root, int8_embedder, cache)
    [top] = search(index, SearchQuery("find a blob in the repository", 1))
    assert (top.unit.path, top.unit.name, top.unit.span.start_line) == ("include/blob.h", "git_blob_lookup", 3)
    near = related(index, "src/blob.c", line=0, limit=5)
    assert near and all(r.unit.name != "git_blob_lookup" for r in near)  # not its own prototype
    assert "git_blob_free" in names(near)


def test_incremental_edit_add_delete_rename(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    (workspace / "sample.py").write_text("def download_file(url):\n    \"\"\"Fetch a URL to disk.\"\"\"\n")
    (workspace / "new.go").write_text("package x\n// Compress bytes with gzip.\nfunc Compress(b []byte) []byte { return b }\n")
    (workspace / "a.c").unlink()
    os.rename(workspace / "a.rb", workspace / "renamed.rb")
    report = index.update()
    assert report.files == 3  # sample.py, new.go, renamed.rb
    all_names = {u.name for _, u in index.searcher().units()}
    assert {"download_file", "Compress", "greet"} <= all_names
    assert not {"parse_http_headers", "checksum"} & all_names
    assert {u.path for _, u in index.searcher().units() if u.name == "greet"} == {"renamed.rb"}
    assert names(search(index, SearchQuery("gzip compression", 1)))[0] == "Compress"


def test_persistence_round_trip_is_warm(workspace, int8_embedder, cache):
    first = build(workspace, int8_embedder, cache)
    before = names(search(first, SearchQuery("parse http headers", 10)))
    first.store.close()
    second = open_index(workspace, int8_embedder, cache)
    assert second.unit_count == first.unit_count
    plan = second.plan()
    assert plan.changed == [] and plan.removed == []
    assert names(search(second, SearchQuery("parse http headers", 10))) == before
    os.utime(workspace / "a.go")  # touched, not changed: no embedding
    report = second.update()
    assert report.embedded == 0 and report.tokens == 0


def test_a_pass_counts_the_tokens_it_embeds(workspace, int8_embedder, cache):
    index = open_index(workspace, int8_embedder, cache)
    report = index.update()
    texts = [t for _, u in index.searcher().units() for t in index.texts(u, int8_embedder.count_tokens)]
    assert report.embedded == len(set(texts))  # (the fixture has no two units with the same text)
    assert report.tokens == sum(int8_embedder.count_tokens(sorted(set(texts))))


def test_moved_function_is_not_embedded_again(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    text = (workspace / "sample.py").read_text()
    (workspace / "sample.py").write_text("\n\n\n# spacer comment that is long enough to be a comment unit\n" + text)
    report = index.update()
    assert report.embedded <= 2  # the new comment, and the module window at most


def test_corrupt_store_is_moved_aside_and_rebuilt(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    db_path = index.store.db_path
    index.store.close()
    db_path.write_bytes(b"this is not a database" * 100)
    for extra in (db_path.with_name("index.sqlite-wal"), db_path.with_name("index.sqlite-shm")):
        extra.unlink(missing_ok=True)
    again = open_index(workspace, int8_embedder, cache)
    assert again.store.message and "moved aside" in again.store.message
    aside = [p for p in again.store.directory.parent.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and (aside[0] / "REASON.txt").is_file()
    again.update()
    assert names(search(again, SearchQuery("parse raw http headers into a dict", 1))) == ["parse_http_headers"]


def test_store_of_other_variant_or_format_is_refused(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    db_path = index.store.db_path
    index.store.close()
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE meta SET value='fp32' WHERE key='variant'")
    again = open_index(workspace, int8_embedder, cache)
    assert "fp32" in again.store.message
    assert again.unit_count == 0


def test_damaged_graph_file_is_rebuilt_from_vectors(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    count = index.unit_count
    index.store.close()
    graph = index.store.graph_path
    graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
    again = open_index(workspace, int8_embedder, cache)
    assert again.unit_count == count
    assert names(search(again, SearchQuery("parse raw http headers into a dict", 1, "semantic"))) == ["parse_http_headers"]


def test_hnsw_recall_against_brute_force():
    from patina_lsp.index.vectors import VectorIndex

    rng = np.random.default_rng(7)
    # clustered data, like embeddings: harder for HNSW than uniform noise
    centers = rng.normal(size=(50, 384))
    data = centers[rng.integers(0, 50, 20_000)] + 0.6 * rng.normal(size=(20_000, 384))
    data = (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)
    index = VectorIndex(capacity=1000)  # forces resize_index along the way
    for start in range(0, len(data), 5000):
        index.add(list(range(start, start + 5000)), data[start : start + 5000])
    queries = data[rng.integers(0, len(data), 200)] + 0.1 * rng.normal(size=(200, 384)).astype(np.float32)
    hits = 0
    for q in queries:
        q = q / np.linalg.norm(q)
        truth = set(np.argsort(-(data @ q))[:10].tolist())
        hits += len(truth & {label for label, _ in index.search(q, 10)})
    recall = hits / (10 * len(queries))
    assert recall >= 0.98, recall


def test_vector_replace_and_delete():
    from patina_lsp.index.vectors import VectorIndex

    index = VectorIndex()
    a, b = np.eye(384, dtype=np.float32)[:2]
    index.add([1, 2], np.stack([a, b]))
    index.add([1], np.stack([b]))  # replace
    assert index.search(b, 2)[0][1] == pytest.approx(1.0)
    assert {label for label, _ in index.search(b, 2)} == {1, 2}
    index.remove([2])
    assert [label for label, _ in index.search(b, 5)] == [1]


def test_store_of_an_older_format_is_moved_aside(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    db_path = index.store.db_path
    index.store.close()
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE meta SET value='0' WHERE key='format'")
    again = open_index(workspace, int8_embedder, cache)
    assert "format version 0" in again.store.message and "moved aside" in again.store.message
    again.update()
    assert again.unit_count == index.unit_count


def test_a_second_open_reads_the_store_and_follows_its_writer(workspace, int8_embedder, cache):
    from patina_lsp.index.scan import FileEntry

    writer = build(workspace, int8_embedder, cache)
    reader = open_index(workspace, int8_embedder, cache)
    assert writer.writable and not reader.writable and reader.store.holder == str(os.getpid())
    assert reader.store.directory == writer.store.directory and reader.unit_count == writer.unit_count
    assert reader.update().stopped == "the index is written by another process"

    new = workspace / "ledger.py"
    new.write_text('def reconcile_ledger(entries):\n    """Reconcile the ledger balances."""\n    return 0\n')
    st = new.stat()
    assert reader.follow() == 0  # nothing committed since it loaded
    writer.index_files([FileEntry("ledger.py", st.st_size, st.st_mtime_ns)])
    assert reader.follow() == 1 and reader.pending_file_count == 0
    assert names(search(reader, SearchQuery("reconcile the ledger balances", 1))) == ["reconcile_ledger"]

    # a change the reader hears of goes to the writer, which indexes it
    new.unlink()
    reader.forget("ledger.py")
    assert writer.store.take_requests() == ["ledger.py"] and writer.store.take_requests() == []
    writer.forget("ledger.py")
    assert reader.follow() == 1
    assert "reconcile_ledger" not in names(search(reader, SearchQuery("reconcile the ledger balances", 5)))

    # the writer goes: the reader takes over and writes from then on
    assert not reader.take_over()
    writer.store.close()
    assert reader.take_over() and reader.writable
    (workspace / "late.py").write_text("def arrive_late():\n    pass\n")
    report = reader.update()
    assert report.stopped is None and report.embedded >= 1
    assert names(search(reader, SearchQuery("arrive late", 1))) == ["arrive_late"]
    reader.store.close()


def test_stores_earlier_versions_made_for_a_second_server_are_deleted(workspace, int8_embedder, cache):
    first = build(workspace, int8_embedder, cache)
    old = first.store.directory.with_name(first.store.directory.name + "-2")
    first.store.close()
    shutil.copytree(first.store.directory, old)
    again = open_index(workspace, int8_embedder, cache)
    assert again.writable and not old.exists()
    again.store.close()


def test_workspace_moving_under_the_walk(workspace, int8_embedder, cache, monkeypatch):
    """Files deleted, replaced by a folder, made unreadable or growing while indexing: no crash, final = disk."""
    import patina_lsp.index.extraction as extraction

    log = workspace / "app.log"
    log.write_text("start\n")
    (workspace / "doomed.py").write_text("def doomed():\n    pass\n")
    (workspace / "becomes_dir.py").write_text("def soon_a_folder():\n    pass\n")
    real_extract = extraction.extract_file
    calls = {"n": 0}

    def meddling_extract(path, text):
        calls["n"] += 1
        if calls["n"] == 2:
            (workspace / "doomed.py").unlink()
            (workspace / "becomes_dir.py").unlink()
            (workspace / "becomes_dir.py").mkdir()
        if path == "app.log":
            with open(log, "a") as fh:  # grows on every read
                fh.write("more\n" * 10)
        return real_extract(path, text)

    monkeypatch.setattr(extraction, "extract_file", meddling_extract)
    index = open_index(workspace, int8_embedder, cache)
    report = index.update()
    assert report.stopped is None
    paths = {u.path for _, u in index.searcher().units()}
    assert "doomed.py" not in paths and "becomes_dir.py" not in paths
    assert "app.log" in paths  # committed as last read, despite growing
    monkeypatch.setattr(extraction, "extract_file", real_extract)
    index.update()
    on_disk = {p.relative_to(workspace).as_posix() for p in workspace.rglob("*") if p.is_file()}
    assert {u.path for _, u in index.searcher().units()} <= on_disk
    assert set(index.fingerprints) == on_disk


def test_buffer_edits_do_not_leave_stale_vectors(workspace, int8_embedder, cache):
    import patina_lsp.index.workspace as ws

    index = build(workspace, int8_embedder, cache)
    stored = len(index.store.vector_hashes())
    text = (workspace / "sample.py").read_text()
    for i in range(ws.GC_EVERY_BUFFER_UPDATES):
        index.set_buffer("sample.py", text + f"\n\ndef edit_{i}():\n    \"\"\"Edit {i}.\"\"\"\n")
    # collected on the last update: what is left is the disk's vectors plus the current buffer's
    assert len(index.store.vector_hashes()) <= stored + 3
    index.reload_from_disk("sample.py")
    assert names(search(index, SearchQuery("parse raw http headers into a dict", 1))) == ["parse_http_headers"]
    index.store.close()
    again = open_index(workspace, int8_embedder, cache)
    assert again.plan().changed == [] and again.unit_count == index.unit_count


def test_postings_of_another_text_analysis_are_computed_again(tmp_path, int8_embedder, cache):
    """A store from before abbreviations were spelled out: its terms are redone, nothing is embedded."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "buffers.py").write_text("def get_buf_len(b):\n    return b.size\n")
    index = build(root, int8_embedder, cache)
    segment, meta = index.store.lexical_segment()
    # as an older version saved it: no analysis recorded, and no spelled-out terms in it
    index.store.save_lexical(segment, {"files": meta["files"]})
    index.store.close()
    again = open_index(root, int8_embedder, cache)
    assert again.plan().changed == []
    assert [r.unit.name for r in search(again, SearchQuery("buffer length", 3, "lexical"))] == ["get_buf_len"]
    assert again.unsaved  # computed again, to be saved
    again.save()
    assert again.store.lexical_segment()[1]["analysis"] == ANALYSIS
    again.store.close()


def test_units_of_an_older_extractor_are_extracted_again_without_embedding_again(workspace, int8_embedder, cache):
    from patina_lsp.index.symbols import EXTRACTOR

    index = build(workspace, int8_embedder, cache)
    files, units = index.file_count, index.unit_count
    assert index.store.meta("extractor") == EXTRACTOR
    index.store.set_meta("extractor", "0")  # as a store from before this extractor
    index.store.close()
    again = open_index(workspace, int8_embedder, cache)
    assert len(again.plan().changed) == files
    report = again.update()
    assert report.files == files and report.embedded == 0 and again.unit_count == units
    assert again.store.meta("extractor") == EXTRACTOR and again.plan().changed == []
    again.store.close()


def lexical_top(index, query="parse the http response headers", n=8):
    return [(r.unit.path, r.unit.name, round(r.score, 6)) for r in search(index, SearchQuery(query, n, "lexical"))]


def test_warm_start_reads_saved_postings_and_ranks_the_same(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    before = [lexical_top(index, q) for q in ("parse the http response headers", "checksum buffer", "render")]
    index.store.close()
    assert index.store.lexical_path.is_file()
    again = open_index(workspace, int8_embedder, cache)
    assert again.published.lexical.segmented and not again.unsaved  # nothing rebuilt from stored terms
    assert again.store.graph_labels() is not None  # the graph's labels were taken as saved
    assert again.published.vectors.labels == set(again.store.vector_ids())
    assert [lexical_top(again, q) for q in ("parse the http response headers", "checksum buffer", "render")] == before


def test_postings_older_than_the_database_are_completed_file_by_file(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    (workspace / "sample.py").write_text((workspace / "sample.py").read_text()
                                         + "\n\ndef frobnicate_widgets(count):\n    \"\"\"Frobnicate widgets.\"\"\"\n")
    index.index_files(index.plan().changed)  # committed to the database; postings not saved (few changes)
    assert index.unsaved
    expected = lexical_top(index, "frobnicate widgets")
    assert expected and expected[0][1] == "frobnicate_widgets"
    index.store.close()
    again = open_index(workspace, int8_embedder, cache)
    assert again.unsaved  # sample.py's terms came from the database
    assert again.store.graph_labels() is None  # new vectors since the graph was saved: reconciled by id
    assert again.published.vectors.labels == set(again.store.vector_ids())
    assert names(search(again, SearchQuery("frobnicate widgets", 1, "semantic"))) == ["frobnicate_widgets"]
    assert lexical_top(again, "frobnicate widgets") == expected
    assert lexical_top(again) == lexical_top(index)


def test_damaged_postings_file_is_set_aside_and_rebuilt(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    expected = lexical_top(index)
    index.store.close()
    path = index.store.lexical_path
    path.write_bytes(path.read_bytes()[:-100])
    again = open_index(workspace, int8_embedder, cache)
    assert "lexical.postings was damaged" in again.store.message
    assert list(path.parent.glob("lexical.postings.damaged-*"))
    assert lexical_top(again) == expected
    again.save()
    again.store.close()
    third = open_index(workspace, int8_embedder, cache)
    assert third.store.message is None and lexical_top(third) == expected


def test_store_is_private_to_its_user(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    directory = index.store.directory
    assert directory.stat().st_mode & 0o777 == 0o700 and directory.parent.stat().st_mode & 0o777 == 0o700
    files = [p for p in directory.iterdir() if p.is_file()]
    assert {"index.sqlite", "vectors.hnsw", "lexical.postings"} <= {p.name for p in files}
    assert all(p.stat().st_mode & 0o077 == 0 for p in files), {p.name: oct(p.stat().st_mode) for p in files}
    lock = directory.with_name(directory.name + ".lock")
    assert lock.stat().st_mode & 0o077 == 0
    index.store.close()


def test_a_symlinked_lock_file_is_refused(workspace, int8_embedder, cache, tmp_path):
    from patina_lsp.index.store import StoreError, default_cache_dir, store_dir

    directory = store_dir(default_cache_dir(cache), workspace, "int8")
    directory.parent.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    directory.with_name(directory.name + ".lock").symlink_to(victim)
    with pytest.raises(StoreError, match="symlink"):
        open_index(workspace, int8_embedder, cache)
    assert victim.read_text() == "keep me\n"


def test_max_units_holds_inside_one_huge_file_and_for_buffers(tmp_path, int8_embedder, cache):
    ws = tmp_path / "huge"
    ws.mkdir()
    (ws / "generated.py").write_text("".join(f"def f_{i}():\n    return {i}\n\n" for i in range(200)))
    index = open_index(ws, int8_embedder, cache, max_units=50)
    report = index.update()
    assert index.unit_count == 50 and "inside generated.py" in report.stopped
    index.set_buffer("scratch.py", "".join(f"def g_{i}():\n    pass\n" for i in range(10)))
    assert index.unit_count == 50 and not index.has_buffer("scratch.py")
    index.store.close()


def test_only_the_last_damaged_stores_are_kept(workspace, int8_embedder, cache):
    index = build(workspace, int8_embedder, cache)
    for n in range(5):
        index.store.recover(f"damage number {n}")
        time.sleep(0.01)
    aside = sorted(index.store.directory.parent.glob("int8.damaged-*"))
    assert len(aside) == 3
    assert sorted((p / "REASON.txt").read_text() for p in aside) == [f"damage number {n}\n" for n in (2, 3, 4)]
    index.store.close()
