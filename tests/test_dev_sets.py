"""The code-only development sets' related pairs: what a doc points its reader to, resolved to one item."""

import sys
from pathlib import Path

import tree_sitter_rust
import tree_sitter_typescript
from tree_sitter import Language, Parser

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from code_only_sets import Collector, linked_names, related_pairs  # noqa: E402


def test_jsdoc_see_tags_and_cue_sentences_name_their_symbols():
    doc = """/**
     * Emits only the first value. Like {@link take} with one, and see also `_.head`.
     *
     * @param {Function} [guard] Enables use as an iteratee for methods like `_.map`.
     * @see {@link operators/last}
     * @see _.without, _.xor
     */"""
    assert linked_names([doc]) == ["last", "without", "xor", "take", "head"]


def test_a_param_tag_is_not_a_pointer():
    doc = "/**\n * Drops the last n elements.\n * @param guard Enables use as an iteratee for methods like `_.map`.\n */"
    assert linked_names([doc]) == []


def test_rust_links_count_only_in_a_sentence_that_points():
    doc = "/// Returns the end. See also [`Match::start`].\n/// Uses [`Vec`] inside.\n"
    assert linked_names([doc]) == ["start"]


def collect(language, source: str, path: str) -> list[dict]:
    grammar = tree_sitter_rust.language() if language == "rust" else tree_sitter_typescript.language_typescript()
    collector = Collector(language, source.encode(), path)
    collector.walk(Parser(Language(grammar)).parse(source.encode()).root_node)
    return collector.found


def test_pairs_resolve_within_the_package_and_skip_ambiguous_names():
    first = """
/** Projects each value. See {@link flatten} and {@link helper}. */
export function map(x: number): number { return x; }

/** Flattens one level of nesting into its parent. */
export function flatten(x: number): number { return x; }
"""
    second = """
/** A helper of the first kind for the tests. */
export function helper(): void {}
"""
    third = """
/** Another helper with the same name elsewhere. */
export function helper(): void {}

/** Flattens a nested list in another package. */
export function flatten(): void {}
"""
    found = (collect("typescript", first, "pkg/src/a.ts") + collect("typescript", second, "pkg/src/b.ts")
             + collect("typescript", third, "pkg/src/c.ts") + collect("typescript", third, "other/src/c.ts"))
    pairs = related_pairs(found)
    # flatten: one item of that name in pkg; helper: two in pkg, none in map's file -> dropped
    assert [(p["source"]["path"], p["related"], p["targets"][0]["path"], p["targets"][0]["def"]) for p in pairs] \
        == [("pkg/src/a.ts", "flatten", "pkg/src/a.ts", 6)]
    assert pairs[0]["source"]["def"] == 3
