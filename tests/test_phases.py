"""Indexing in two phases with the real INT8 model: lexical first (searchable at once), then embedding,
each resumable after a stop without repeating finished work; and the order files are embedded in."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from patina_lsp.index.priority import embedding_order, git_recent
from patina_lsp.index.search import SearchQuery
from patina_lsp.index.workspace import open_index
from index_queries import search, related

LANGS = Path(__file__).parent / "fixtures" / "langs"


class CountingEmbedder:
    """The real embedder, counting the texts it embeds (to show no text is embedded twice)."""

    def __init__(self, embedder):
        self.inner = embedder
        self.variant = embedder.variant
        self.texts: list[str] = []

    def embed(self, texts, cancelled=None):
        self.texts += list(texts)
        return self.inner.embed(texts, cancelled)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_document(self, text):
        return self.inner.embed_document(text)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(LANGS, root)
    for i in range(12):
        (root / f"task_{i:02d}.py").write_text(
            f"def run_task_{i}(queue):\n    \"\"\"Take job number {i} from the queue and run it.\"\"\"\n"
            f"    return queue.pop({i})\n")
    return root


def test_phase_one_is_searchable_before_any_embedding(workspace, int8_embedder, tmp_path):
    counting = CountingEmbedder(int8_embedder)
    index = open_index(workspace, counting, tmp_path / "cache")
    plan = index.plan()
    report = index.extract_files(plan.changed, plan.removed)
    assert report.files == len(plan.changed) and counting.texts == []
    assert index.pending_units == index.unit_count > 0
    top = search(index, SearchQuery("parse_http_headers", 3))
    assert top and top[0].unit.name == "parse_http_headers"
    # related works on a unit that has no vector yet (its text is embedded on the spot)
    assert related(index, "sample.py", line=top[0].unit.span.start_line if top[0].unit.path == "sample.py" else 0)\
        is not None

    done = index.embed_pending()
    assert done.embedded == len(counting.texts) > 0 and index.pending_units == 0
    assert done.embedded_units == index.unit_count
    after = search(index, SearchQuery("parse_http_headers", 3))
    assert after[0].unit.name == "parse_http_headers"


def test_order_stays_sensible_while_vectors_arrive(workspace, int8_embedder, tmp_path):
    """The best lexical match of a query stays near the top while its file, and then all files, get vectors."""
    index = open_index(workspace, int8_embedder, tmp_path / "cache")
    plan = index.plan()
    index.extract_files(plan.changed, plan.removed)
    query = SearchQuery("run task 7 from the queue", 10)
    before = [r.unit.name for r in search(index, query)]
    assert before[0] == "run_task_7"
    index.embed_pending(only=["task_07.py", "task_03.py"])  # some files embedded, the rest not yet
    middle = [r.unit.name for r in search(index, query)]
    index.embed_pending()
    after = [r.unit.name for r in search(index, query)]
    assert middle[0] == "run_task_7" and after[0] == "run_task_7", (before, middle, after)


def test_a_unit_found_by_its_name_keeps_its_place_when_its_vector_arrives_first(tmp_path, int8_embedder):
    """The named unit's file is embedded first and its lexical neighbours' files last (an open file
    goes first): while its vector is nearly the only one, it must not fall behind units that only
    share words with the query and stand in with their lexical score."""
    root = tmp_path / "names"
    root.mkdir()
    (root / "payload.py").write_text("def marshal_widget_payload(widget):\n    return encode(widget.fields)\n")
    for i in range(14):  # units that call it: a strong lexical match each, weaker than its own name
        (root / f"widgets_{i:02d}.py").write_text(
            f"def send_widget_{i}(widget):\n    \"\"\"Send marshal_widget_payload(widget) to server {i}.\"\"\"\n"
            f"    return post({i}, marshal_widget_payload(widget))\n")
    index = open_index(root, int8_embedder, tmp_path / "cache")
    plan = index.plan()
    index.extract_files(plan.changed, plan.removed)
    query = SearchQuery("marshal_widget_payload", 10)
    seen = [[r.unit.name for r in search(index, query)]]
    index.embed_pending(only=["payload.py"])  # its vector first, every neighbour's later
    seen.append([r.unit.name for r in search(index, query)])
    index.embed_pending(only=[f"widgets_{i:02d}.py" for i in range(7)])
    seen.append([r.unit.name for r in search(index, query)])
    index.embed_pending()
    seen.append([r.unit.name for r in search(index, query)])
    assert all(names[0] == "marshal_widget_payload" for names in seen), seen


def test_resume_in_phase_one(workspace, int8_embedder, tmp_path):
    cache = tmp_path / "cache"
    counting = CountingEmbedder(int8_embedder)
    index = open_index(workspace, counting, cache)
    plan = index.plan()
    stop_after, seen = 5, []
    index.extract_files(plan.changed, progress=lambda done, total, units: seen.append(done),
                        cancelled=lambda: len(seen) >= stop_after)
    assert index.file_count == stop_after and counting.texts == []
    index.store.close()  # as if the process died here: everything committed so far is in the store

    again = open_index(workspace, counting, cache)
    assert again.file_count == stop_after and len(again.pending_paths) == stop_after
    rest = again.plan()
    assert len(rest.changed) == len(plan.changed) - stop_after  # extracted files are not read again
    again.extract_files(rest.changed)
    again.embed_pending()
    assert again.pending_units == 0
    reference = open_index(workspace, int8_embedder, tmp_path / "clean")
    reference.update()
    assert len(counting.texts) == len(set(counting.texts))
    assert sorted(u.key for _, u in again.searcher().units()) == sorted(u.key for _, u in reference.searcher().units())


def test_resume_in_phase_two_repeats_nothing(workspace, int8_embedder, tmp_path):
    cache = tmp_path / "cache"
    counting = CountingEmbedder(int8_embedder)
    index = open_index(workspace, counting, cache)
    plan = index.plan()
    index.extract_files(plan.changed)
    total = index.pending_units
    files = []
    index.embed_pending(lambda done, total: files.append(done), cancelled=lambda: len(files) >= 3)
    embedded_first = list(counting.texts)
    assert 0 < len(embedded_first) and index.pending_units < total
    index.store.close()

    again = open_index(workspace, counting, cache)
    assert not again.plan().changed  # phase 1 is finished: nothing is read again
    assert 0 < again.pending_units < total
    again.embed_pending()
    assert again.pending_units == 0
    assert len(counting.texts) == len(set(counting.texts)), "a text was embedded twice"
    top = search(again, SearchQuery("take a job from the queue and run it", 5, "semantic"))
    assert top and top[0].unit.name.startswith("run_task_")


def first_vector_by_path(index) -> dict[str, int]:
    """path -> its smallest vector id: ids grow in the order vectors are stored, so this is the embedding order."""
    import sqlite3

    db = sqlite3.connect(index.store.db_path)
    out: dict[str, int] = {}
    for path, ids in db.execute("SELECT path, vector_ids FROM units"):
        if ids:
            out[path] = min(out.get(path, 1 << 62), *map(int, ids.split()))
    db.close()
    return out


def test_opened_file_moves_to_the_front(workspace, int8_embedder, tmp_path):
    index = open_index(workspace, int8_embedder, tmp_path / "cache")
    index.extract_files(index.plan().changed)
    index.set_embedding_order(sorted)
    queued = index.pending_paths
    last = queued[-1]
    files_done = []

    def progress(done, total):
        files_done.append(done)
        if len(files_done) == 2:
            assert index.prioritise(last)  # opened in the editor while the queue runs

    index.embed_pending(progress)
    order = sorted(first_vector_by_path(index).items(), key=lambda kv: kv[1])
    embedded = [path for path, _ in order]
    assert embedded[:2] == queued[:2] and embedded[2] == last, embedded[:5]
    assert not index.prioritise(last)  # done: nothing to move


def test_embedding_order_without_git_uses_mtimes(tmp_path):
    paths = [f"pkg{i % 3}/m{i}.py" for i in range(300)]
    mtimes = {p: i for i, p in enumerate(paths)}
    mtimes["pkg0/m0.py"] = 10_000  # the newest
    order = embedding_order(tmp_path, paths, mtimes, open_paths=["pkg2/m5.py"])
    assert order[0] == "pkg2/m5.py" and order[1] == "pkg0/m0.py"
    assert sorted(order) == sorted(paths)


def test_embedding_order_with_git(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    for folder in ("old", "new", "other"):
        (repo / "sub" / folder).mkdir(parents=True)
    for i in range(5):
        for folder in ("old", "new", "other"):
            (repo / "sub" / folder / f"f{i}.py").write_text(f"x = {i}\n")

    def git(*args):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "all")
    (repo / "sub" / "new" / "f3.py").write_text("x = 'changed'\n")
    git("commit", "-q", "-am", "one change")
    time.sleep(0.01)
    (repo / "sub" / "other" / "f4.py").write_text("x = 'uncommitted'\n")
    root = repo / "sub"  # a workspace folder inside the repository: paths relative to it
    recent = git_recent(root)
    assert recent[0] == "other/f4.py" and "new/f3.py" in recent
    paths = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    order = embedding_order(root, paths, {}, ())
    assert order[:1] == ["other/f4.py"]
    assert set(order[:10]) >= {"other/f4.py", "new/f3.py"}
    assert sorted(order) == paths


def test_cancel_inside_a_file_keeps_it_queued(workspace, int8_embedder, tmp_path):
    counting = CountingEmbedder(int8_embedder)
    index = open_index(workspace, counting, tmp_path / "cache")
    index.extract_files(index.plan().changed)
    queued = index.pending_paths
    report = index.embed_pending(cancelled=lambda: len(counting.texts) > 0)  # stops inside the first file
    assert report.stopped == "cancelled" and index.pending_paths == queued
    index.embed_pending()
    assert index.pending_units == 0


def test_generated_file_is_searchable_but_never_embedded(workspace, int8_embedder, tmp_path):
    (workspace / "api_pb.go").write_text("// Code generated by protoc-gen-go. DO NOT EDIT.\npackage api\n\n"
                                         "// MarshalWidgetPayload encodes a widget.\nfunc MarshalWidgetPayload() {}\n")
    counting = CountingEmbedder(int8_embedder)
    index = open_index(workspace, counting, tmp_path / "cache")
    report = index.extract_files(index.plan().changed)
    assert report.lexical_only >= 1
    index.embed_pending()
    assert index.pending_units == 0 and not any("MarshalWidgetPayload" in t for t in counting.texts)
    assert search(index, SearchQuery("MarshalWidgetPayload", 3))[0].unit.name == "MarshalWidgetPayload"
    index.store.close()
    again = open_index(workspace, counting, tmp_path / "cache")
    assert again.pending_units == 0 and "api_pb.go" not in again.pending_paths  # decided once, kept
