"""Extraction on worker processes: the same units as in process, in input order, and nothing lost
when a worker dies."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from patina_lsp.index import extraction
from patina_lsp.index.extraction import Extractor, extract_file
from patina_lsp.index.workspace import open_index

LANGS = Path(__file__).parent / "fixtures" / "langs"


def _items(copies: int = 4) -> list[tuple[object, str, str | None]]:
    files = sorted(p for p in LANGS.iterdir() if p.is_file())
    items: list[tuple[object, str, str | None]] = []
    for n in range(copies):
        for f in files:
            path = f"copy{n}/{f.name}"
            items.append((path, path, f.read_text()))
        items.append((f"skipped{n}", f"skipped{n}.py", None))  # nothing to extract: passes through
    return items


def test_workers_give_the_units_extraction_gives_in_process():
    items = _items()
    with Extractor(len(items), processes=2) as extractor:
        assert not extractor.in_process
        out = list(extractor.extract(items))
        assert not extractor.in_process  # no worker failed: every file went through one
    assert [key for key, _ in out] == [key for key, _, _ in items]
    for (key, path, text), (_, found) in zip(items, out):
        if text is None:
            assert found is None
            continue
        assert found == extract_file(path, text)
        assert found.units, path  # every fixture language gives units


def test_a_dead_worker_loses_no_file():
    items = _items(copies=8)
    with Extractor(len(items), processes=2) as extractor:
        results = extractor.extract(items)
        first = [next(results)]
        for pid in extractor.worker_pids():
            os.kill(pid, signal.SIGKILL)
        out = first + list(results)
        assert extractor.in_process  # the broken pool was given up; the rest was extracted here
    assert [key for key, _ in out] == [key for key, _, _ in items]
    for (key, path, text), (_, found) in zip(items, out):
        assert found == (extract_file(path, text) if text is not None else None)


def test_few_files_are_extracted_in_process():
    with Extractor(extraction.IN_PROCESS_BELOW - 1) as extractor:
        assert extractor.in_process


def test_an_index_built_on_workers_equals_one_built_in_process(tmp_path, monkeypatch, caplog):
    workspace = tmp_path / "ws"
    for key, path, text in _items(copies=3):
        if text is not None:
            (workspace / path).parent.mkdir(parents=True, exist_ok=True)
            (workspace / path).write_text(text)

    def build(cache: Path) -> dict:
        index = open_index(workspace, None, cache, variant="int8")
        plan = index.plan()
        report = index.extract_files(plan.changed, plan.removed)
        assert report.stopped is None and report.files == len(plan.changed)
        units = {(u.path, u.span, u.name): u for _, u in index.searcher().units()}
        index.store.close()
        return units

    on_workers = build(tmp_path / "a")
    assert not [r for r in caplog.records if r.name == extraction.__name__]  # no fallback to in process
    monkeypatch.setattr(extraction, "IN_PROCESS_BELOW", 10**9)
    in_process = build(tmp_path / "b")
    assert on_workers == in_process and len(on_workers) > 30
