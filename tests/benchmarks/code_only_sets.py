"""Code-only development sets in Rust, TypeScript/JavaScript, Java and C: doc comments become queries, and are removed.

    python tests/benchmarks/code_only_sets.py rust OUT_DIR    (Debian's librust-*-dev sources)
    python tests/benchmarks/code_only_sets.py npm OUT_DIR     (TypeScript sources and JSDoc'd JavaScript from npm)
    python tests/benchmarks/code_only_sets.py java OUT_DIR    (Javadoc'd libraries, Debian's source packages)
    python tests/benchmarks/code_only_sets.py c OUT_DIR       (Doxygen'd C libraries, Debian's source packages)
    python tests/benchmarks/code_only_sets.py c OUT_DIR --keep-docs   (the same queries, the docs left in place:
                                                              whether a doc reaches the function it documents)

The CodeSearchNet way of building a set, for code that has no docs: every function, method and
type with a doc comment gives one query, the first sentence of that comment (markdown and
`{@link}`, Javadoc's `{@code}` and HTML reduced to their words, a leading repetition of the symbol's name dropped, sentences
under four words skipped, a sentence shared by two symbols dropped as ambiguous); then every doc
comment is blanked out of the corpus copy, character for character, so that line numbers hold.
Ordinary comments stay: they are part of the code.

C documents its API on the prototypes in its headers (Doxygen's `/** ... */`, `@brief` reduced to
its text). Once the docs are blanked, a prototype is a declaration like any other, and the function's
definition is what a search should find: a query whose doc sat on a prototype has the definition of
that name in the package (when it has exactly one) as a second target, and a related pair starts
from it; without one (a macro writes the function), the doc gives no query.

Related pairs come from the same docs before they are blanked: a JSDoc `@see` tag, or a sentence of
a doc that says "see", "see also", "like", "same as", "similar to", "equivalent to", "inverse of" or
"counterpart of" and links a symbol (`{@link x}`, `_.x`, Rust's [`x`]), pairs the documented item
with the item of that name when exactly one documented item of the package has it (the same file's
first when several do). What a reader of the docs was pointed to, as the Sphinx sets' "See also".

Writes OUT_DIR/corpus/, OUT_DIR/queries.jsonl and OUT_DIR/related.jsonl, in the format
of ../shared/eval (search_eval.py scores them; a result is a hit when its range starts between the
target's first line, attributes or decorators included, and the line of its name). Deterministic
for given package versions: the versions are pinned below (Debian's for Rust are whatever its
archive holds; the builder prints them, and they go into OUT_DIR/SOURCES).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import tree_sitter_c
import tree_sitter_java
import tree_sitter_rust
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

RUST_CRATES = ["regex", "regex-syntax", "itertools", "chrono", "indexmap", "bytes", "serde-json", "hashbrown"]
# TypeScript sources (src/*.ts) and one JavaScript library with JSDoc (lodash-es: every .js file)
NPM_PACKAGES = ["rxjs@7.8.1", "mobx@6.13.5", "immer@10.1.1", "@tanstack/query-core@5.59.0", "lodash-es@4.17.21"]
JS_WHOLE = {"lodash-es"}
# Java: Debian source packages of Javadoc'd libraries (their src/main/java); the training miner excludes them
JAVA_SOURCES = ["commons-io", "libcommons-lang3-java", "jsoup"]
# C: Debian source packages documented with Doxygen, on header prototypes (libgit2, libevent) and on
# definitions (libssh); tests, examples and vendored code left out. The training miner excludes them.
C_SOURCES = ["libgit2", "libevent", "libssh"]
C_SKIP = re.compile(r"(^|/)(tests?|examples?|samples?|fuzzers?|benchmarks?|deps|doc|docs|ci|script|nmake|WIN32-Code|"
                    r"compat|cmake|clar)/")

RUST_ITEMS = {"function_item": "function", "function_signature_item": "function", "struct_item": "struct",
              "enum_item": "enum", "trait_item": "trait", "union_item": "struct", "type_item": "type"}
TS_ITEMS = {"function_declaration": "function", "generator_function_declaration": "function",
            "class_declaration": "class", "abstract_class_declaration": "class", "method_definition": "method",
            "abstract_method_signature": "method", "interface_declaration": "interface",
            "enum_declaration": "enum", "type_alias_declaration": "type"}
JAVA_ITEMS = {"class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
              "record_declaration": "class", "annotation_type_declaration": "interface",
              "method_declaration": "method", "constructor_declaration": "constructor"}
C_ITEMS = {"function_definition": "function", "declaration": "function", "struct_specifier": "struct",
           "union_specifier": "struct", "enum_specifier": "enum"}
ITEMS = {"rust": RUST_ITEMS, "npm": TS_ITEMS, "java": JAVA_ITEMS, "c": C_ITEMS}
# Doxygen tags on a line of their own that say nothing a reader searches for, and `@brief X`
DOXYGEN_LONE = re.compile(r"[@\\](internal|private|public|protected|static|\{|\})\s*$"
                          r"|[@\\](ingroup|addtogroup|fn|var|def|typedef)\b.*$")
DOXYGEN_BRIEF = re.compile(r"^[@\\](brief|short)\s+")
# an export macro on its own line between a doc and its declaration (`EVENT2_EXPORT_SYMBOL`)
LONE_MACRO = re.compile(rb"[A-Z][A-Z0-9_]*(\s+(struct|enum|union|const))?")
MIN_WORDS = 4
RELATED_CUE = re.compile(r"\b(see(\s+also)?|like|same as|similar to|equivalent to|inverse of|counterpart of)\b", re.I)


def is_doc(language: str, text: bytes) -> bool:
    if language == "rust":
        return (text.startswith(b"///") and not text.startswith(b"////")) or text.startswith(b"//!") \
            or (text.startswith(b"/**") and not text.startswith(b"/***") and text != b"/**/") \
            or text.startswith(b"/*!")
    if language == "c":
        return (text.startswith(b"/**") and not text.startswith((b"/**/", b"/***"))) or text.startswith(b"/*!") \
            or (text.startswith(b"///") and not text.startswith(b"////"))
    return text.startswith(b"/**") and not text.startswith(b"/**/")


def is_outer_doc(language: str, text: bytes) -> bool:
    """A doc comment that documents the item after it (not Rust's inner `//!`, `/*!`, nor a Doxygen
    comment about a file or a group)."""
    if language == "c":
        return is_doc(language, text) and not re.search(rb"[@\\](file|defgroup|addtogroup|mainpage|page|name)\b", text)
    return is_doc(language, text) and not text.startswith((b"//!", b"/*!"))


def comment_lines(comments: list[str]) -> list[str]:
    lines = []
    for comment in comments:
        for line in comment.splitlines():
            line = re.sub(r"^\s*(///|//!|/\*\*|/\*!|\*/|\*)?", "", line)
            line = re.sub(r"\*/\s*$", "", line).strip()
            lines.append(line)
    return lines


def linked_names(comments: list[str], language: str = "") -> list[str]:
    """The symbols a doc points its reader to (see the module's doc), last path segment only."""
    found = []
    lines = comment_lines(comments)
    if language == "c":  # `@internal` before the description
        lines = [line for line in lines if not DOXYGEN_LONE.match(line)]
    text = " ".join(lines)
    for tag in re.findall(r"@see\s+((?:\{@|[^@])*)", text):
        found += re.findall(r"\{@link(?:code|plain)?\s+([\w./#:$]+)", tag) or re.findall(r"([\w.$#]+)", tag)[:4]
    prose = re.split(r"(?<!\{)@\w+", text)[0]  # the description, not the tags' text (`@param`)
    for sentence in re.split(r"(?<=[.!?])\s+", prose):
        if RELATED_CUE.search(sentence):
            found += re.findall(r"\{@link(?:code|plain)?\s+([\w./#:$]+)", sentence)
            found += re.findall(r"\[`([\w:]+)(?:\(\))?`\]", sentence)
            found += re.findall(r"\b_\.(\w+)", sentence)
            found += re.findall(r"\b([A-Za-z_]\w*_\w+)\(\)", sentence)  # C: `git_blob_free()`
    names = []
    for ref in found:
        last = re.split(r"[./#:]+", ref.strip("()"))[-1].removesuffix("()")
        if re.fullmatch(r"[A-Za-z_$][\w$]*", last) and last not in names and last != "_":
            names.append(last)
    return names


def related_pairs(found: list[dict]) -> list[dict]:
    """(documented item, the documented item its doc links) when the name resolves to one item of
    the same package (of the same file when the package has several)."""
    by_name: dict[tuple[str, str], list[dict]] = {}
    for f in found:
        by_name.setdefault((f["target"]["path"].split("/")[0], f["name"]), []).append(f)
    pairs, seen = [], set()
    for f in found:
        package = f["target"]["path"].split("/")[0]
        for name in f["links"]:
            options = by_name.get((package, name), [])
            if len(options) > 1:
                options = [o for o in options if o["target"]["path"] == f["target"]["path"]]
            if len(options) != 1 or options[0] is f:
                continue
            key = (f["target"]["path"], f["target"]["def"], options[0]["target"]["path"], options[0]["target"]["def"])
            if key in seen:
                continue
            seen.add(key)
            t = f.get("also") or f["target"]
            pairs.append({"id": f"{t['path']}:{t['def']}:{f['name']}", "related": name, "source": t,
                          "targets": [options[0]["target"]] + ([options[0]["also"]] if "also" in options[0] else [])})
    return pairs


def first_sentence(comments: list[str], name: str, language: str = "") -> str | None:
    lines = comment_lines(comments)
    if language == "c":
        lines = [DOXYGEN_BRIEF.sub("", line) for line in lines if not DOXYGEN_LONE.match(line)]
    paragraph = []
    for line in lines:
        if not line:
            if paragraph:
                break
            continue
        if line.startswith(("@", "#", "```")) or language == "c" and line.startswith("\\"):
            break
        paragraph.append(line)
    text = " ".join(paragraph)
    if language == "java":  # {@code x}, {@literal x} and HTML entities: the words a reader sees
        text = html.unescape(re.sub(r"\{@(?:code|literal)\s+([^}]*)\}", r"\1", text))
    text = re.sub(r"\{@link(?:code|plain)?\s+([^}|\s]+)(?:[ |][^}]*)?\}", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](url)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)  # [text][ref]
    text = re.sub(r"\[(`[^\]]+`)\]", r"\1", text)  # [`Name`]
    text = re.sub(r"</?[a-zA-Z][^>]*>", "", text)
    text = text.replace("`", "").replace("**", "")
    text = re.sub(r"\s+", " ", text).strip()
    match = re.match(r"(.+?[.!?])(?:\s|$)", text)
    sentence = (match.group(1) if match else text).strip().rstrip(":").strip()
    words = sentence.split()
    if words and re.sub(r"\W", "", words[0]).lower() == name.lower():
        words = words[1:]
    if len(words) < MIN_WORDS:
        return None
    return " ".join(words)


class Collector:
    """Walks one file: the documented items (query, target) and the doc comments' byte ranges."""

    def __init__(self, language: str, source: bytes, path: str):
        self.language, self.source, self.path = language, source, path
        self.items = ITEMS.get(language, TS_ITEMS)
        self.found: list[dict] = []
        self.blank: list[tuple[int, int]] = []

    def text(self, node: Node) -> bytes:
        return self.source[node.start_byte:node.end_byte]

    def walk(self, node: Node) -> None:
        docs: list[Node] = []
        prefix: list[Node] = []  # attributes and decorators between the docs and the item
        for index, child in enumerate(node.named_children):
            if child.type in ("line_comment", "block_comment", "comment"):
                text = self.text(child)
                if is_doc(self.language, text):
                    self.blank.append((child.start_byte, child.end_byte))
                    if is_outer_doc(self.language, text):
                        docs.append(child)
                continue
            if child.type in ("attribute_item", "decorator") or self.language == "c" and docs \
                    and child.type == "declaration" and c_function_name(child) is None \
                    and LONE_MACRO.fullmatch(self.text(child).strip().rstrip(b";")):
                prefix.append(child)
                continue
            if docs:
                self.document(child, docs, prefix, node.named_children[index + 1:])
            docs, prefix = [], []
            self.walk(child)

    def document(self, node: Node, docs: list[Node], prefix: list[Node], after: list[Node]) -> None:
        start = prefix[0] if prefix else node
        target = declaration(node)
        kind = self.items.get(target.type)
        name = target.child_by_field_name("name")
        if target.type == "lexical_declaration" and target.named_child_count == 1:
            # `const f = (...) => ...` and `const f = function (...) {...}`
            value = target.named_children[0].child_by_field_name("value")
            if value is not None and value.type in ("arrow_function", "function_expression", "function"):
                kind, name = "function", target.named_children[0].child_by_field_name("name")
        if target.type == "function_signature" and name is not None:
            # TypeScript overloads: the doc sits on the first signature; the function is the
            # implementation after the last one (its name's line is the `def` line)
            for sibling in after:
                inner = declaration(sibling)
                other = inner.child_by_field_name("name")
                if sibling.type == "comment" or (inner.type == "function_signature" and other is not None
                                                 and self.text(other) == self.text(name)):
                    continue
                if inner.type == "function_declaration" and other is not None and self.text(other) == self.text(name):
                    kind, name, node = "function", other, sibling
                break
        if self.language == "c" and target.type in ("function_definition", "declaration"):
            name = c_function_name(target)
            if name is None or target.type == "declaration" and target.parent.type == "compound_statement":
                return
        if kind is None or name is None:
            return
        name_text = self.text(name).decode(errors="replace")
        comments = [self.text(d).decode(errors="replace") for d in docs]
        query = first_sentence(comments, name_text, self.language)
        self.found.append({"name": name_text, "kind": kind, "query": query, "links": linked_names(comments, self.language),
                           "declared": target.type == "declaration", "target": {
            "path": self.path, "start": start.start_point[0] + 1, "def": name.start_point[0] + 1,
            "end": node.end_point[0] + 1}})

    def stripped(self) -> bytes:
        out = bytearray(self.source)
        for begin, end in self.blank:
            for i in range(begin, end):
                if out[i] not in b"\n\r":
                    out[i] = 0x20
        lines = bytes(out).split(b"\n")
        return b"\n".join(line.rstrip() for line in lines)


def c_function_name(node: Node) -> Node | None:
    """The identifier a C function definition or prototype names (None for a variable, a function
    pointer, or a declaration of several names)."""
    declarators = node.children_by_field_name("declarator")
    if len(declarators) != 1:
        return None
    declarator = declarators[0]
    while declarator is not None and declarator.type == "pointer_declarator":
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None or declarator.type != "function_declarator":
        return None
    name = declarator.child_by_field_name("declarator")
    return name if name is not None and name.type == "identifier" else None


def c_definitions(root: Node, path: str) -> list[tuple[str, dict]]:
    """Every function definition of a C file, documented or not: (name, target)."""
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name = c_function_name(node)
            if name is not None:
                out.append((name.text.decode(errors="replace"), {
                    "path": path, "start": node.start_point[0] + 1, "def": name.start_point[0] + 1,
                    "end": node.end_point[0] + 1}))
            continue
        stack.extend(reversed(node.named_children))  # source order
    return out


def link_definitions(found: list[dict], definitions: list[tuple[str, dict]]) -> None:
    """A C function documented on its prototype: its package's one definition of that name becomes
    a second target (`also`)."""
    by_name: dict[tuple[str, str], list[dict]] = {}
    for name, target in definitions:
        by_name.setdefault((target["path"].split("/")[0], name), []).append(target)
    for f in found:
        if f.get("declared"):
            options = by_name.get((f["target"]["path"].split("/")[0], f["name"]), [])
            if len(options) == 1:
                f["also"] = options[0]


def declaration(node: Node) -> Node:
    """What an `export` statement exports (the node itself otherwise)."""
    if node.type == "export_statement":
        return node.child_by_field_name("declaration") or node
    return node


def fetch_rust(into: Path, corpus: Path) -> list[str]:
    subprocess.run(["apt-get", "download", "-q", *[f"librust-{c}-dev" for c in RUST_CRATES]], cwd=into, check=True,
                   stdout=subprocess.DEVNULL)
    versions = []
    for deb in sorted(into.glob("*.deb")):
        versions.append(deb.name)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(into / "root")], check=True)
    for crate_dir in sorted((into / "root" / "usr/share/cargo/registry").iterdir()):
        for path in sorted((crate_dir / "src").rglob("*.rs")):
            target = corpus / crate_dir.name / path.relative_to(crate_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return versions


def fetch_npm(into: Path, corpus: Path) -> list[str]:
    for spec in NPM_PACKAGES:
        subprocess.run(["npm", "pack", "--silent", spec], cwd=into, check=True, stdout=subprocess.DEVNULL)
    for tgz in sorted(into.glob("*.tgz")):
        name = tgz.name[:-4]
        with tarfile.open(tgz) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                rel = member.name.split("/", 1)[1]
                if not member.isfile() or re.search(r"(\.spec|\.test)\.[jt]s$|__tests__|\.d\.ts$", rel):
                    continue
                whole = any(name.startswith(p) for p in JS_WHOLE)
                if not (rel.endswith(".js") if whole else rel.startswith("src/") and rel.endswith(".ts")):
                    continue
                target = corpus / name / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    return list(NPM_PACKAGES)


def fetch_debian_sources(into: Path, corpus: Path, names: list[str], keep, place) -> list[str]:
    """The upstream tarballs of Debian's source packages `names`, sha256-checked: each file whose path
    `keep` accepts written to corpus/NAME/place(path). Returns "NAME VERSION" of each."""
    import debian_source

    index = debian_source.source_index(into)
    versions = []
    for name in names:
        package = index[name]
        tarball = debian_source.fetch_file(package.directory, package.upstream, into)
        versions.append(f"{name} {package.version}")
        for rel, text in debian_source.tar_sources(tarball, keep):
            target = corpus / name / place(rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    return versions


def fetch_java(into: Path, corpus: Path) -> list[str]:
    return fetch_debian_sources(into, corpus, JAVA_SOURCES, lambda r: "src/main/java/" in r and r.endswith(".java"),
                                lambda r: r.split("src/main/java/", 1)[1])


def fetch_c(into: Path, corpus: Path) -> list[str]:
    return fetch_debian_sources(into, corpus, C_SOURCES, lambda r: r.endswith((".c", ".h")) and not C_SKIP.search(r),
                                lambda r: r)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("language", choices=["rust", "npm", "java", "c"])
    ap.add_argument("out")
    ap.add_argument("--keep-docs", action="store_true",
                    help="leave the doc comments in the corpus (the queries are the same)")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    corpus = out / "corpus"
    corpus.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        fetch = {"rust": fetch_rust, "npm": fetch_npm, "java": fetch_java, "c": fetch_c}[args.language]
        sources = fetch(Path(tmp), corpus)
    parser = Parser(Language({"rust": tree_sitter_rust.language, "java": tree_sitter_java.language,
                              "c": tree_sitter_c.language,
                              # a superset of the JavaScript here
                              "npm": tree_sitter_typescript.language_typescript}[args.language]()))
    found, definitions = [], []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        source = path.read_bytes()
        rel = path.relative_to(corpus).as_posix()
        collector = Collector(args.language, source, rel)
        root = parser.parse(source).root_node
        collector.walk(root)
        if not args.keep_docs:
            path.write_bytes(collector.stripped())
        found.extend(collector.found)
        if args.language == "c":
            definitions.extend(c_definitions(root, rel))
    link_definitions(found, definitions)
    # a prototype's doc whose function no definition in the package has (a macro writes it): nothing
    # in a code-only copy is that function
    found = [f for f in found if not f.get("declared") or "also" in f]
    related = related_pairs(found)
    found = [f for f in found if f["query"] is not None]
    counts: dict[str, int] = {}
    for f in found:
        counts[f["query"].lower()] = counts.get(f["query"].lower(), 0) + 1
    queries = [f for f in found if counts[f["query"].lower()] == 1]
    with open(out / "queries.jsonl", "w") as fh:
        for f in queries:
            t = f["target"]
            fh.write(json.dumps({"id": f"{t['path']}:{t['def']}:{f['name']}", "kind": f["kind"], "query": f["query"],
                                 "targets": [t] + ([f["also"]] if "also" in f else [])}) + "\n")
    with open(out / "related.jsonl", "w") as fh:
        for pair in related:
            fh.write(json.dumps(pair) + "\n")
    (out / "SOURCES").write_text("\n".join(sources) + "\n")
    files = sum(1 for p in corpus.rglob("*") if p.is_file())
    print(f"{out}: {files} files, {len(queries)} queries ({len(found) - len(queries)} ambiguous dropped), "
          f"{len(related)} related pairs; "
          f"sources: {', '.join(sources)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
