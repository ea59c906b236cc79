"""Pure ranking pieces: score fusion, path globs, identifier words."""

from __future__ import annotations

import numpy as np

from patina_lsp.index.fusion import fuse_scores
from patina_lsp.index.search import path_matches
from patina_lsp.index.text import document_terms, lexical_tokens, query_terms, split_identifier, words_of


def test_fusion_normalises_each_side_and_penalises_prose():
    sem = np.array([0.80, 0.60, 0.40])
    lex = np.array([0.0, 10.0, 5.0])
    prose = np.array([False, False, True])
    fused = fuse_scores(sem, lex, prose, weight=0.5, penalty=0.1)
    assert np.allclose(fused, [0.5 * 1.0, 0.5 * 0.5 + 0.5 * 1.0, 0.5 * 0.0 + 0.5 * 0.5 - 0.1])


def test_fusion_degenerate_inputs():
    assert np.allclose(fuse_scores(np.array([0.3, 0.3]), np.array([0.0, 0.0]), np.array([False, False])), [0, 0])
    assert fuse_scores(np.array([]), np.array([]), np.array([], dtype=bool)).shape == (0,)


def test_fusion_with_units_not_embedded_yet():
    """Indexing's second phase: units without vectors stand in with their lexical score on both sides."""
    sem = np.array([0.0, 0.0, 0.0])
    lex = np.array([2.0, 8.0, 4.0])
    none = np.array([False, False, False])
    fused = fuse_scores(sem, lex, none, embedded=none)
    assert list(np.argsort(-fused)) == [1, 2, 0]  # nothing embedded: BM25's order
    assert np.allclose(fused, lex / 8.0)
    # some embedded: the min-max range is theirs alone, blended with their lexical stand-in by the
    # share embedded (3 of 4); the strongest lexical match keeps the top
    sem = np.array([0.70, 0.0, 0.50, 0.60])
    lex = np.array([1.0, 8.0, 0.0, 4.0])
    has = np.array([True, False, True, True])
    fused = fuse_scores(sem, lex, np.zeros(4, dtype=bool), embedded=has, weight=0.6)
    blend = [0.75 * 1.0 + 0.25 * 0.125, None, 0.0, 0.75 * 0.5 + 0.25 * 0.5]
    assert np.allclose(fused, [0.6 * blend[0] + 0.4 * 0.125, 1.0, 0.0, 0.6 * blend[3] + 0.4 * 0.5])
    # when its vector arrives and agrees, it stays first
    after = fuse_scores(np.array([0.70, 0.72, 0.50, 0.60]), lex, np.zeros(4, dtype=bool), weight=0.6)
    assert int(np.argmax(after)) == 1


def test_a_flat_semantic_side_gets_little_say():
    """Cosines that hardly differ are noise: min-max must not stretch them over 0..1 and outvote BM25."""
    sem = np.array([0.310, 0.300, 0.305])
    lex = np.array([1.0, 9.0, 3.0])
    fused = fuse_scores(sem, lex, np.zeros(3, dtype=bool))
    assert list(np.argsort(-fused)) == [1, 2, 0]  # BM25's order
    # the same lexical scores against a semantic side that does separate: it decides
    fused = fuse_scores(np.array([0.80, 0.30, 0.50]), lex, np.zeros(3, dtype=bool))
    assert int(np.argmax(fused)) == 0


def test_a_flat_lexical_side_decides_nothing():
    sem = np.array([0.40, 0.70, 0.55])
    fused = fuse_scores(sem, np.full(3, 5.0), np.zeros(3, dtype=bool))
    assert list(np.argsort(-fused)) == list(np.argsort(-sem))


def test_path_globs():
    assert path_matches("src/http/parse.py", ("*.py",))
    assert path_matches("src/http/parse.py", ("src/**",))
    assert path_matches("src/http/parse.py", ("src/http/",))
    assert path_matches("src/http/parse.py", ("**/parse.py",))
    assert not path_matches("src/http/parse.py", ("tests/**", "*.go"))


def test_identifier_words_and_terms():
    assert split_identifier("parseHTTPHeaders") == ["parse", "http", "headers"]
    assert split_identifier("get_all_URLs") == ["get", "all", "urls"]
    assert "get_all_permissions" in lexical_tokens("def get_all_permissions(self):")
    assert query_terms("Returns the parsed headers") == ["return", "pars", "header"]


def test_abbreviations_are_spelled_out_beside_the_identifier():
    assert words_of("getBufLen") == "get buffer length"
    terms = document_terms("def buf_len(self): return len(self.buf)")
    assert {"buf", "buffer", "len", "length"} <= set(terms)
    # a query in words finds the abbreviated identifier, a query naming it still matches it exactly
    assert set(query_terms("the length of the buffer")) <= set(terms)
    assert "buf_len" in query_terms("buf_len") and "buf_len" in terms
    # language keywords are not expanded: they would add a word to every unit
    assert "function" not in document_terms("fn main() {}") + document_terms("func main() {}")


def test_stemming_from_many_threads_at_once():
    """Indexing stems documents while searches stem queries: a shared Snowball stemmer broke under that."""
    import sys
    import threading

    import snowballstemmer

    from patina_lsp.index import text

    words = [f"{w}{suffix}" for w in ("pars", "handl", "connect", "validat", "render", "schedul", "comput")
             for suffix in ("ing", "ed", "es", "ation", "ations", "ers", "ingly")]
    words = [f"{w}{'x' * (i % 5)}{c}" for i, w in enumerate(words) for c in "abcdefghijklmnopqrstuvwxyz"]
    expected = {w: snowballstemmer.stemmer("english").stemWord(w) for w in words}
    text.stem.cache_clear()
    errors, results = [], {}
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible

    def work(part):
        try:
            for w in part:
                results[w] = text.stem(w)
                text.stem.cache_clear() if len(results) % 97 == 0 else None
        except Exception as exc:  # noqa: BLE001 - collected below
            errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=work, args=(words[i::4] * 3,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
        text.stem.cache_clear()
    assert not errors, errors[:3]
    assert results == expected


def test_related_filter_keeps_code_near_code_and_nothing_below_the_floor():
    from patina_lsp.index.search import RELATED_FLOOR, SearchResult, related_filter
    from patina_lsp.index.units import Span, Unit

    def result(name, kind, score):
        return SearchResult(Unit("a.py", "python", kind, name, None, Span(0, 0, 0, 1), Span(0, 0, 0, 1), "", ""), score)

    near = [result("gitignore", "text", 0.9), result("twin", "function", 0.8), result("note", "comment", 0.7),
            result("far", "function", RELATED_FLOOR - 0.01)]
    kept, left_out = related_filter(near, source_is_code=True)
    assert [r.unit.name for r in kept] == ["twin"] and left_out == 3
    # prose is listed for a code unit when no code is close, and always for prose
    kept, _ = related_filter([near[0], near[2], near[3]], source_is_code=True)
    assert [r.unit.name for r in kept] == ["gitignore", "note"]
    kept, _ = related_filter(near, source_is_code=False)
    assert [r.unit.name for r in kept] == ["gitignore", "twin", "note"]
    assert related_filter([near[3]], source_is_code=True) == ([], 1)


def test_related_terms_are_the_sources_code_without_the_words_of_its_doc():
    """A doc that says "like `x`" names what a related pair links: those words never count."""
    from patina_lsp.index.search import related_terms
    from patina_lsp.index.text import query_terms
    from patina_lsp.index.units import Span, Unit

    code = 'def load_settings(path):\n    """Like parse_manifest, for settings."""\n    return read_yaml(path)\n'
    unit = Unit("a.py", "python", "function", "load_settings", None, Span(0, 0, 2, 0), Span(0, 4, 0, 17),
                "def load_settings(path)", "Like parse_manifest, for settings.", code)
    terms = related_terms(unit)
    assert set(query_terms("read_yaml")) <= set(terms)
    assert not set(query_terms("parse_manifest")) & set(terms)
    # a word of both the name and the doc ("settings": the stem "set") is left out too; the whole name stays
    assert query_terms("settings") == ["set"] and "set" not in terms
    assert "load" in terms and "load_settings" in terms
    assert related_terms(text="fn checksum(buf: &[u8])") == query_terms("fn checksum(buf: &[u8])")


def test_related_code_is_ordered_by_its_cosine_blended_with_the_words_it_shares(tmp_path, int8_embedder):
    """search.related_order over a real index's BM25: of two units equally near, the one that calls what
    the source calls comes first; among those that share nothing, the nearer."""
    from patina_lsp.index.search import RELATED_SEMANTIC_WEIGHT, SearchResult, related_order, related_terms
    from patina_lsp.index.workspace import open_index

    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.py").write_text(
        "def load_settings(path):\n    return read_yaml(path)\n\n\n"
        "def load_plugins(folder):\n    return [read_yaml(p) for p in folder.iterdir()]\n\n\n"
        "def compute_area(width, height):\n    return width * height\n\n\n"
        "def total_price(items):\n    return sum(i.cost for i in items)\n")
    index = open_index(root, int8_embedder, tmp_path / "cache")
    index.update()
    with index.published.reading() as view:
        slot = {view.unit(s).name: s for s in view.slots()}
        source = view.unit(slot["load_settings"])

        def near(*scored):
            return [(slot[name], SearchResult(view.unit(slot[name]), cosine)) for name, cosine in scored]

        terms = related_terms(source)
        tied = related_order(view, near(("compute_area", 0.6), ("load_plugins", 0.6), ("total_price", 0.5)), terms)
        assert [r.unit.name for r in tied] == ["load_plugins", "compute_area", "total_price"]
        spread = near(("total_price", 0.8), ("load_plugins", 0.4), ("compute_area", 0.9))
        blended = related_order(view, spread, terms)
        assert [r.unit.name for r in blended] == ["load_plugins", "compute_area", "total_price"]
        assert all(0.0 <= r.score <= 1.0 for r in blended)
        assert [r.unit.name for r in related_order(view, spread, terms, weight=1.0)] == [
            "compute_area", "total_price", "load_plugins"]  # the cosine alone
        assert related_order(view, [], terms) == []
    assert 0.0 < RELATED_SEMANTIC_WEIGHT < 1.0
    index.store.close()


def test_each_model_brings_its_own_semantic_weight():
    """The code model's cosines are trusted more against BM25 (embedding/models.py); rank() and a
    Searcher fuse with the weight of the model that made the vectors."""
    from patina_lsp.embedding import models
    from patina_lsp.index.search import Candidates, SearchQuery, rank
    from patina_lsp.index.units import Span, Unit

    assert models.semantic_weight("int8") == models.semantic_weight("fp32") == 0.6
    assert models.semantic_weight("code") == models.semantic_weight("code-fp32") == 0.7
    assert models.semantic_weight("no-such-model") == 0.6

    def unit(name):
        return Unit("a.py", "python", "function", name, None, Span(0, 0, 0, 1), Span(0, 0, 0, 1), "", "")

    # a: the best cosine and a weaker BM25 match; b: the best BM25 match, a middling cosine
    candidates = Candidates([unit("a"), unit("b"), unit("c")], np.array([0.80, 0.56, 0.40]), np.array([5.0, 10.0, 0.0]),
                            np.zeros(3, dtype=bool), np.ones(3, dtype=bool))
    query = SearchQuery("anything", 3)
    # at 0.6: a = 0.6 + 0.2 = 0.8, b = 0.24 + 0.4 = 0.64 ... and at 0.7: a = 0.85, b = 0.51
    # b outranks a only where BM25 weighs more: at 0.4 a = 0.4 + 0.3 = 0.7, b = 0.16 + 0.6 = 0.76
    first = {w: rank([(None, candidates)], query, semantic_weight=w)[0][1].unit.name for w in (0.4, 0.6, 0.7)}
    assert first == {0.4: "b", 0.6: "a", 0.7: "a"}
    # what a server's searches use: the weight of the model the options choose
    from patina_lsp.config import Options
    from patina_lsp.engine import Engine

    assert Engine(Options(model="code")).searcher().semantic_weight == 0.7
    assert Engine(Options()).searcher().semantic_weight == 0.6


def test_a_c_or_cpp_functions_declaration_and_definition_are_one_function():
    from patina_lsp.index.search import same_function
    from patina_lsp.index.units import Span, Unit

    def unit(path, language, kind, name, container=None):
        return Unit(path, language, kind, name, container, Span(0, 0, 0, 1), Span(0, 0, 0, 1), "", "")

    declared = unit("include/fmt/buffer.h", "cpp", "method", "append", "fmt.Buffer")
    assert same_function(declared, unit("src/buffer.cc", "cpp", "function", "Buffer::append", "fmt"))
    assert same_function(declared, unit("src/buffer.cc", "cpp", "function", "Buffer::append"))  # `using namespace`
    assert not same_function(declared, unit("src/list.cc", "cpp", "function", "List::append"))
    assert not same_function(declared, unit("include/fmt/buffer.h", "cpp", "class", "append", "fmt.Buffer"))
    c = unit("include/git2/blob.h", "c", "function", "git_blob_free")
    assert same_function(c, unit("src/blob.c", "c", "function", "git_blob_free"))
    assert not same_function(c, unit("src/blob.c", "c", "function", "git_blob_lookup"))
    assert not same_function(unit("a.py", "python", "function", "free"), unit("b.py", "python", "function", "free"))
