"""The lexical index in its two forms (dict postings and a frozen segment) and the postings file."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patina_lsp.index.lexical import LexicalIndex
from patina_lsp.index.postings import PostingsError, read_segment, write_segment

WORDS = ["parse", "header", "http", "render", "template", "checksum", "buffer", "page", "alloc", "free",
         "inode", "mount", "option", "packet", "lock", "mutex"]
QUERIES = ["parse http header", "render template", "free page", "lock mutex inode", "checksum buffer packet",
           "alloc", "unknownword"]

documents = st.dictionaries(st.sampled_from(WORDS), st.floats(0.5, 8.0), min_size=1, max_size=6)
operations = st.lists(st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 40), documents), max_size=80)


def apply(index: LexicalIndex, ops) -> None:
    for op, doc, counts in ops:
        if op == "add":
            index.add_counts(doc, counts)
        else:
            index.remove(doc)


def assert_same_scores(a: LexicalIndex, b: LexicalIndex) -> None:
    assert len(a) == len(b)
    for q in QUERIES:
        sa, sb = a.scores(q), b.scores(q)
        n = max(len(sa), len(sb))
        np.testing.assert_allclose(np.pad(sa, (0, n - len(sa))), np.pad(sb, (0, n - len(sb))), rtol=1e-5, atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(before=operations, after=operations)
def test_a_segment_plus_later_changes_scores_like_dicts_alone(before, after):
    plain = LexicalIndex()
    apply(plain, before)
    docs = sorted({doc for doc in range(41) if doc in plain})
    random.Random(len(docs)).shuffle(docs)  # a segment's numbering need not follow doc ids
    mixed = LexicalIndex()
    mixed.adopt(plain.export(docs), np.array(docs, dtype=np.int64))
    assert_same_scores(plain, mixed)
    for doc in docs:
        assert mixed.counts_of(doc) == pytest.approx(plain.counts_of(doc))
    apply(plain, after)
    apply(mixed, after)  # replaces and removes segment documents, adds new ones
    assert_same_scores(plain, mixed)
    compacted = mixed.compacted()
    assert not compacted.dict_terms and compacted.documents().tolist() == mixed.documents().tolist()
    assert_same_scores(plain, compacted)
    # and a segment exported from the mixed form is the same index again
    live = [doc for doc in range(41) if doc in mixed]
    again = LexicalIndex()
    again.adopt(mixed.export(live), np.array(live, dtype=np.int64))
    assert_same_scores(plain, again)


def test_segment_documents_can_be_skipped_at_adoption():
    plain = LexicalIndex()
    plain.add_counts(0, {"parse": 1.0, "header": 2.0})
    plain.add_counts(1, {"render": 1.0})
    segment = plain.export([0, 1])
    index = LexicalIndex()
    index.adopt(segment, np.array([-1, 5]))  # document 0 is stale: left out
    assert len(index) == 1 and 5 in index and 0 not in index
    assert index.search("parse render", 5) == [(5, pytest.approx(index.scores("render")[5]))]


@pytest.fixture
def saved(tmp_path):
    index = LexicalIndex()
    for doc, words in enumerate(["parse http header", "render template", "free page lock"]):
        index.add_counts(doc, {w: 1.0 for w in words.split()})
    path = tmp_path / "lexical.postings"
    write_segment(path, index.export([0, 1, 2]), {"files": [["a.py", "abc", 3]]})
    return index, path


def test_postings_file_round_trip(saved):
    index, path = saved
    segment, meta = read_segment(path)
    assert meta == {"files": [["a.py", "abc", 3]]}
    loaded = LexicalIndex()
    loaded.adopt(segment, np.arange(3))
    assert_same_scores(index, loaded)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_postings_file_is_refused(saved, damage):
    _, path = saved
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 7]
    elif damage == "flip":
        data[-3] ^= 0xFF
    elif damage == "garbage":
        data = bytearray(b"\x00garbage" * 50)
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(PostingsError):
        read_segment(path)
