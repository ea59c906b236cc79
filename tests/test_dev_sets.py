"""The code-only development sets: their queries (a doc's first sentence, the doc then blanked) and their
related pairs (what a doc points its reader to, resolved to one item)."""

import sys
from pathlib import Path

import tree_sitter_c
import tree_sitter_java
import tree_sitter_rust
import tree_sitter_typescript
from tree_sitter import Language, Parser

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from code_only_sets import Collector, c_definitions, link_definitions, linked_names, related_pairs  # noqa: E402


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


GRAMMARS = {"rust": tree_sitter_rust.language, "typescript": tree_sitter_typescript.language_typescript,
            "java": tree_sitter_java.language, "c": tree_sitter_c.language}


def collector_of(language, source: str, path: str) -> Collector:
    collector = Collector(language, source.encode(), path)
    collector.walk(Parser(Language(GRAMMARS[language]())).parse(source.encode()).root_node)
    return collector


def collect(language, source: str, path: str) -> list[dict]:
    return collector_of(language, source, path).found


def test_javadoc_gives_the_query_and_is_blanked_where_the_code_stays():
    source = """package org.example;

/**
 * Operations on {@code String} that are &lt;b&gt;null&lt;/b&gt; safe.
 */
public class Strings {
    /**
     * Reverses the characters of a {@code String}, returning {@code null} for <em>null</em> input.
     *
     * @param text the text to reverse
     */
    @Deprecated
    public static String reverse(String text) {
        /* not a doc: stays */
        return text == null ? null : new StringBuilder(text).reverse().toString();
    }

    /** Too short. */
    public Strings() {}
}
"""
    collector = collector_of("java", source, "lib/Strings.java")
    found = {(f["name"], f["kind"]): f for f in collector.found}
    assert found["Strings", "class"]["query"] == "Operations on String that are null safe."
    assert found["Strings", "constructor"]["query"] is None  # under four words
    reverse = found["reverse", "method"]
    assert reverse["query"] == "Reverses the characters of a String, returning null for null input."
    assert reverse["target"]["start"] == 12  # the annotation's line: hits start there or at the name
    assert reverse["target"]["def"] == 13
    assert found["Strings", "class"]["target"]["def"] == 6
    stripped = collector.stripped().decode()
    assert "/**" not in stripped and "Reverses" not in stripped
    assert "/* not a doc: stays */" in stripped and "new StringBuilder(text)" in stripped
    assert stripped.count("\n") == source.count("\n")  # line numbers hold


def test_a_c_prototypes_doxygen_gives_the_query_and_its_definition_is_a_second_target():
    header = """/**
 * @file blob.h
 * @brief Blob routines
 */

/**
 * @brief Lookup a blob object from a repository.
 *
 * @param id identity of the blob
 * @see git_blob_free
 */
GIT_EXTERN(int) git_blob_lookup(git_blob **blob, const git_oid *id);

/**
 * Close an open blob: a wrapper around git_object_free().
 */
EVENT2_EXPORT_SYMBOL
void git_blob_free(git_blob *blob);

/** A getter a macro defines, so no definition of it exists. */
int git_blob_rawsize(const git_blob *blob);
"""
    source = """/**
 * @internal
 *
 * Frees the blob, like git_blob_lookup() in reverse.
 */
void git_blob_free(git_blob *blob)
{
\tint local(int);  /* an ordinary comment */
}

int git_blob_lookup(git_blob **blob, const git_oid *id)
{
\treturn 0;
}
"""
    parser = Parser(Language(tree_sitter_c.language()))
    found, definitions = [], []
    for path, text in (("git2/include/blob.h", header), ("git2/src/blob.c", source)):
        collector = collector_of("c", text, path)
        found += collector.found
        definitions += c_definitions(parser.parse(text.encode()).root_node, path)
        stripped = collector.stripped().decode()
        assert "/**" not in stripped and stripped.count("\n") == text.count("\n")
    assert "/* an ordinary comment */" in stripped
    assert [(name, t["def"]) for name, t in definitions] == [("git_blob_free", 6), ("git_blob_lookup", 11)]
    link_definitions(found, definitions)
    by_name = {(f["name"], f["target"]["path"]): f for f in found}
    lookup = by_name["git_blob_lookup", "git2/include/blob.h"]
    assert lookup["query"] == "Lookup a blob object from a repository."
    assert (lookup["target"]["def"], lookup["also"]["path"], lookup["also"]["def"]) == (12, "git2/src/blob.c", 11)
    free = by_name["git_blob_free", "git2/include/blob.h"]
    assert free["query"] == "Close an open blob: a wrapper around git_object_free()."
    assert (free["target"]["start"], free["target"]["def"]) == (17, 18)  # from the macro's line
    assert by_name["git_blob_free", "git2/src/blob.c"]["query"] == "Frees the blob, like git_blob_lookup() in reverse."
    assert "also" not in by_name["git_blob_rawsize", "git2/include/blob.h"]
    assert not [f for f in found if f["name"] == "local"]
    pairs = related_pairs(found)
    assert {(p["id"], p["related"]) for p in pairs} == {
        ("git2/src/blob.c:11:git_blob_lookup", "git_blob_free"),  # from the definition, the doc's @see
        ("git2/src/blob.c:6:git_blob_free", "git_blob_lookup")}
    assert all(len(p["targets"]) == 2 for p in pairs)


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


def test_the_sources_index_gives_each_packages_tarballs_and_checksums(tmp_path):
    """debian_source.py reads Debian's Sources index (here a cached two-package copy, no network):
    the upstream tarball is the .orig one, or a native package's only tarball; the newest paragraph wins."""
    import debian_source

    def paragraph(name, version, files, binary):
        sums = "".join(f" {sha} {size} {file}\n" for file, sha, size in files)
        return (f"Package: {name}\nBinary: {binary}\nVersion: {version}\nDirectory: pool/main/{name[0]}/{name}\n"
                f"Checksums-Sha256:\n{sums}")

    text = "\n".join([
        paragraph("jlib", "1.0-1", [("jlib_1.0-1.dsc", "a" * 64, 10), ("jlib_1.0.orig.tar.xz", "b" * 64, 2000),
                                    ("jlib_1.0-1.debian.tar.xz", "c" * 64, 300)], "libjlib-java,\n libjlib-java-doc"),
        paragraph("jlib", "1.1-1", [("jlib_1.1.orig.tar.gz", "d" * 64, 2100), ("jlib_1.1-1.debian.tar.xz", "e" * 64, 30)],
                  "libjlib-java"),
        paragraph("native", "3", [("native_3.dsc", "f" * 64, 10), ("native_3.tar.xz", "0" * 64, 500)], "native-tool"),
    ])
    (tmp_path / "Sources-bookworm").write_text(text)
    index = debian_source.source_index(tmp_path)
    assert index["jlib"].version == "1.1-1"
    assert index["jlib"].upstream == ("jlib_1.1.orig.tar.gz", "d" * 64, 2100)
    assert index["jlib"].packaging[0] == "jlib_1.1-1.debian.tar.xz"
    assert index["native"].upstream[0] == "native_3.tar.xz" and index["native"].packaging is None
    assert debian_source.source_index(tmp_path)["jlib"].binaries == ("libjlib-java",)


def test_a_downloaded_file_whose_checksum_differs_is_refused_and_removed(tmp_path):
    import debian_source
    import pytest

    package = debian_source.SourcePackage("jlib", "1.0-1", "pool/main/j/jlib", (),
                                          (("jlib_1.0.orig.tar.gz", "0" * 64, 5),))
    (tmp_path / "jlib_1.0.orig.tar.gz").write_bytes(b"other")  # already there: not downloaded again
    with pytest.raises(ValueError, match="sha256 differs"):
        debian_source.fetch_file(package.directory, package.upstream, tmp_path)
    assert not (tmp_path / "jlib_1.0.orig.tar.gz").exists()
