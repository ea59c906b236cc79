"""Symbol, comment, section and window extraction on small real files, one per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from patina_lsp.index.symbols import MAX_NESTING, extract_units, extract_windows
from patina_lsp.index.languages import CODE_LANGUAGES, language_of

LANGS = Path(__file__).parent / "fixtures" / "langs"


def units_of(name: str):
    return extract_units(name, language_of(name), (LANGS / name).read_text())


def table(name: str) -> set[tuple]:
    return {(u.kind, u.name, u.container) for u in units_of(name)}


def find(units, name):
    matches = [u for u in units if u.name == name]
    assert matches, f"{name} not extracted: {[u.name for u in units]}"
    return matches[0]


def test_python_symbols_docstrings_ranges():
    units = units_of("sample.py")
    assert {("function", "parse_http_headers", None), ("class", "TemplateRenderer", None),
            ("method", "render", "TemplateRenderer"), ("method", "render_async", "TemplateRenderer")} <= \
        {(u.kind, u.name, u.container) for u in units}
    parse = find(units, "parse_http_headers")
    assert parse.doc == "Parse raw HTTP response headers into a dict."
    assert parse.signature == "def parse_http_headers(raw: bytes) -> dict"
    assert parse.span.start_line == 9  # the decorator line (0-based)
    assert parse.name_span.start_line == 10 and parse.name_span.start_col == 4
    assert find(units, "render").doc == "Render one template by name."  # leading comment as doc
    assert find(units, "render_async").doc == "Render without blocking the event loop."


def test_standalone_comment_becomes_a_unit_and_doc_comments_do_not():
    comments = [u for u in units_of("sample.py") if u.kind == "comment"]
    assert len(comments) == 1
    assert comments[0].doc.startswith("The cache keeps parsed headers")
    assert comments[0].span.start_line == 4 and comments[0].span.end_line == 5


@pytest.mark.parametrize("name, expected", [
    ("a.js", {("function", "parseHeaders", None), ("function", "fetchJson", None), ("class", "Client", None),
              ("method", "send", "Client")}),
    ("a.ts", {("interface", "Options", None), ("enum", "Color", None), ("class", "Api", None),
              ("method", "get", "Api")}),
    ("a.go", {("struct", "Server", None), ("interface", "Handler", None), ("method", "Start", "Server"),
              ("function", "main", None)}),
    ("a.rs", {("struct", "Point", None), ("enum", "Shape", None), ("trait", "Area", None),
              ("method", "area", "Point"), ("function", "free", None), ("type", "Speed", None)}),
    ("A.java", {("class", "A", None), ("method", "add", "A"), ("constructor", "A", "A"),
                ("interface", "I", "A"), ("enum", "E", "A")}),
    ("a.c", {("function", "checksum", None), ("struct", "node", None), ("enum", "color", None)}),
    ("a.cpp", {("namespace", "net", None), ("class", "Socket", "net"), ("function", "max_of", None)}),
    ("a.rb", {("module", "Util", None), ("class", "Helper", "Util"), ("method", "greet", "Util.Helper")}),
])
def test_languages(name, expected):
    assert expected <= table(name)


@pytest.mark.parametrize("name, symbol, doc", [
    ("a.js", "parseHeaders", "Parses the headers of an HTTP response."),
    ("a.js", "send", "Send a request."),
    ("a.go", "Start", "Start starts the server."),
    ("a.rs", "Point", "A point in space."),
    ("A.java", "add", "Adds."),
    ("a.c", "checksum", "Compute the checksum of a buffer."),
    ("a.rb", "greet", "Greet someone."),
])
def test_leading_doc_comments(name, symbol, doc):
    assert find(units_of(name), symbol).doc == doc


def test_markdown_sections_by_heading():
    sections = units_of("notes.md")
    assert [(s.name, s.container) for s in sections] == [
        ("Patina notes", None), ("Installing", "Patina notes"), ("Usage", "Patina notes")]
    assert all(s.kind == "section" for s in sections)
    assert "# not a heading" in sections[1].code  # a fenced line is not a heading


def test_text_windows_cover_every_line():
    text = "\n".join(f"line {i}" for i in range(100))
    windows = extract_windows("log.txt", "text", text)
    covered = set()
    for w in windows:
        covered.update(range(w.span.start_line, w.span.end_line + 1))
        assert w.span.end_line - w.span.start_line < 40
    assert covered == set(range(100))


def test_unknown_language_falls_back_to_windows():
    units = extract_units("config.toml", "text", "[tool]\nname = 'x'\n")
    assert [u.kind for u in units] == ["text"]


def test_syntax_errors_do_not_stop_extraction():
    units = extract_units("broken.py", "python", "def ok():\n    pass\n\ndef broken(:\n")
    assert "ok" in {u.name for u in units}


def _nested(language: str, depth: int) -> str:
    """A generated file with `depth` nested functions or classes (each inside the previous one's body)."""
    if language == "python":
        return "\n".join("    " * i + f"def level_{i}():" for i in range(depth)) + "\n" + "    " * depth + "pass\n"
    if language == "ruby":
        return "".join(f"class Level{i}\n" for i in range(depth)) + "end\n" * depth
    if language == "go":
        return "package deep\n\nfunc Level0() {\n" + "".join(f"f{i} := func() {{\n" for i in range(depth)) + \
            "}\n" * depth + "}\n"
    if language == "rust":
        return "".join(f"fn level_{i}() {{\n" for i in range(depth)) + "}\n" * depth
    if language in ("java", "csharp"):
        return "".join(f"class Level{i} {{\n" for i in range(depth)) + "}\n" * depth
    if language == "php":
        return "<?php\n" + "".join(f"function level_{i}() {{\n" for i in range(depth)) + "}\n" * depth
    if language in ("c", "cpp"):
        return "int level_0(void) {\n" + "{\n" * depth + "}\n" * depth + "return 0;\n}\n"
    opener = "function level_{i}() {{\n"  # javascript, typescript, tsx
    return "".join(opener.format(i=i) for i in range(depth)) + "}\n" * depth


@pytest.mark.parametrize("language", sorted(CODE_LANGUAGES))
def test_deeply_nested_generated_code_is_extracted_without_exhausting_the_stack(language):
    ext = {"python": "py", "javascript": "js", "typescript": "ts", "tsx": "tsx", "go": "go", "rust": "rs",
           "java": "java", "c": "c", "cpp": "cpp", "ruby": "rb", "csharp": "cs", "php": "php"}[language]
    units = extract_units(f"deep.{ext}", language, _nested(language, 1200))
    assert units  # the outer levels are found (or the file is indexed as text); nothing raised
    assert len(units) <= MAX_NESTING + 1 or all(u.kind == "text" for u in units)


def test_columns_are_utf16_code_units_as_lsp_expects():
    # before the name: accents (1 unit each), emoji outside the BMP (2 units each), CJK (1 unit)
    js = 'const s = "naïve 😀 日本 😀"; function área() {}\n'
    [fn] = [u for u in extract_units("m.js", "javascript", js) if u.kind == "function"]
    start = js.encode("utf-16-le").index("área".encode("utf-16-le")) // 2
    assert start == len(js[: js.index("área")]) + 2  # two emoji: two more units than code points
    assert (fn.name_span.start_col, fn.name_span.end_col) == (start, start + 4)
    assert fn.span.start_col == start - len("function ")
    text = "# 😀 the shapes\nclass Çircle:\n    pass\n"
    [cls] = [u for u in extract_units("m.py", "python", text) if u.kind == "class"]
    assert (cls.name_span.start_col, cls.name_span.end_col) == (6, 12)


def test_c_functions_behind_annotation_macros():
    """Kernel-style `static T __init name(void)`: the grammar cannot know the macro; the function is still found."""
    source = ("static enum memblock_flags __init_memblock choose_memblock_flags(void)\n{\n\treturn 0;\n}\n\n"
              "static int __init setup_pages(char *arg)\n{\n\treturn 1;\n}\n\n"
              "int plain(int x)\n{\n\treturn x;\n}\n")
    units = extract_units("mm/memblock.c", "c", source)
    chosen = find(units, "choose_memblock_flags")
    assert chosen.kind == "function" and chosen.span.start_line == 0 and chosen.name_span.start_line == 0
    assert find(units, "setup_pages").kind == "function" and find(units, "plain").span.start_line == 10
    assert "void" not in {u.name for u in units}


def test_ruby_methods_in_class_self_blocks_and_begin_rescue():
    source = ("module Rack\n  class MediaType\n    class << self\n      # The media type of a content type.\n"
              "      def type(content_type)\n        content_type\n      end\n    end\n  end\n\n"
              "  class MockResponse\n    begin\n      require 'cgi/cookie'\n    rescue LoadError\n"
              "      class Cookie\n        def initialize(args)\n          @args = args\n        end\n      end\n"
              "    end\n  end\nend\n")
    units = extract_units("lib/rack.rb", "ruby", source)
    media_type = find(units, "type")
    assert media_type.kind == "method" and media_type.container == "Rack.MediaType"
    assert media_type.doc == "The media type of a content type."
    assert find(units, "Cookie").kind == "class" and find(units, "initialize").container.endswith("Cookie")


def test_c_loop_macros_inside_functions_are_not_functions():
    source = ("static void drain_all(void)\n{\n\tint cpu;\n\n\tfor_each_possible_cpu(cpu) {\n"
              "\t\tdrain(cpu);\n\t}\n}\n")
    units = extract_units("mm/drain.c", "c", source)
    assert [u.name for u in units if u.kind == "function"] == ["drain_all"]


def test_a_cpp_header_is_read_as_cpp():
    from patina_lsp.index.languages import language_of_text

    cpp = "#pragma once\nnamespace fmt {\nclass buffer {\n public:\n  int size() const { return n; }\n};\n}\n"
    c = "#ifndef LIST_H\n#define LIST_H\nstruct list { struct list *next; };\nint list_len(struct list *l);\n#endif\n"
    assert language_of_text("include/fmt/core.h", cpp) == "cpp"
    assert language_of_text("include/linux/list.h", c) == "c"
    assert language_of_text("src/a.c", cpp) == "c"  # only .h is ambiguous
    units = extract_units("include/fmt/core.h", "cpp", cpp)
    assert find(units, "size").kind == "method" and find(units, "buffer").kind == "class"


def test_definitions_inside_a_region_the_parser_could_not_read():
    # a macro-opened namespace the C++ grammar cannot know: the functions after it sit in an ERROR node
    source = ("FMT_BEGIN_NAMESPACE\n\ntemplate <typename T> class printf_formatter {\n public:\n"
              "  void format(T value) { write(value); }\n};\n\ninline int count_digits(int n) { return n; }\n\n"
              "FMT_END_NAMESPACE\n")
    units = extract_units("include/fmt/printf.h", "cpp", source)
    assert find(units, "count_digits").kind == "function"


def test_documented_c_prototypes_are_functions_where_c_documents_its_api():
    """A C library documents its API on the prototypes in its headers; each is a function unit
    with its doc, behind an export macro of either shape, and after a macro the parser cannot read."""
    header = ("/**\n * @file git2/blob.h\n * @brief Git blob routines\n * @{\n */\nGIT_BEGIN_DECL\n\n"
              "/**\n * Lookup a blob object from a repository.\n *\n * @param id identity of the blob\n */\n"
              "GIT_EXTERN(int) git_blob_lookup(git_blob **blob, git_repository *repo, const git_oid *id);\n\n"
              "/** Get the id of a blob. */\nGIT_EXTERN(const git_oid *) git_blob_id(const git_blob *blob);\n\n"
              "/**\n  Deallocate storage for an evbuffer.\n */\nEVENT2_EXPORT_SYMBOL\n"
              "void evbuffer_free(struct evbuffer *buf);\n\n"
              "int undocumented(int x);\n\n/** A hook, not a function. */\nextern int (*hook)(int x);\n")
    units = extract_units("include/git2/blob.h", "c", header)
    lookup = find(units, "git_blob_lookup")
    assert lookup.kind == "function" and lookup.name_span.start_line == 12
    assert lookup.doc.startswith("Lookup a blob object from a repository.")
    assert "git_blob_lookup(git_blob **blob, git_repository *repo, const git_oid *id)" in lookup.signature
    blob_id = find(units, "git_blob_id")
    assert (blob_id.kind, blob_id.doc, blob_id.span.start_line) == ("function", "Get the id of a blob.", 15)
    assert blob_id.signature == "GIT_EXTERN(const git_oid *) git_blob_id(const git_blob *blob)"
    free = find(units, "evbuffer_free")
    assert free.doc == "Deallocate storage for an evbuffer." and free.span.start_line == 21  # below the macro
    names = {u.name for u in units if u.kind != "comment"}
    assert names == {"git_blob_lookup", "git_blob_id", "evbuffer_free"}  # not the undocumented one, nor the pointer
    assert not [u for u in units if u.kind == "comment" and "Lookup a blob" in u.doc]  # a doc, not a comment


def test_c_forward_and_local_declarations_are_not_units_and_doxygen_tags_leave_the_doc():
    source = ("static int helper(int x);\n\n/**\n * @internal\n *\n * @brief Create a new channel id.\n"
              " *\n * @param[in] session The session.\n */\nuint32_t new_id(session s)\n{\n"
              "\tint local(int);\n\treturn helper(1);\n}\n\nstatic int helper(int x)\n{\n\treturn x;\n}\n")
    units = extract_units("src/channels.c", "c", source)
    assert [(u.name, u.span.start_line) for u in units if u.kind == "function"] == [("new_id", 9), ("helper", 15)]
    assert find(units, "new_id").doc == "Create a new channel id.\n\n@param[in] session The session."


def test_cpp_methods_declared_in_a_class_with_a_doc():
    source = ("namespace fmt {\n/** A buffer that grows. */\nclass Buffer {\n public:\n"
              "  /** Appends the characters of the range to the buffer. */\n"
              "  void append(const char* begin, const char* end);\n  virtual ~Buffer();\n  int count;\n"
              "  /** Called on overflow. */\n  void (*on_overflow)(Buffer&);\n};\n"
              "/** Formats the arguments into a string. */\nstd::string format(string_view fmt, ...);\n"
              "void run() {\n  /** not a unit */\n  Foo make();\n}\n}\n")
    units = extract_units("include/fmt/buffer.h", "cpp", source)
    append = find(units, "append")
    assert (append.kind, append.container, append.name_span.start_line) == ("method", "fmt.Buffer", 5)
    assert append.signature == "void append(const char* begin, const char* end)"
    assert find(units, "format").kind == "function" and find(units, "format").container == "fmt"
    assert {u.name for u in units if u.kind in ("function", "method")} == {"append", "format", "run"}


def test_javascript_functions_that_are_values():
    """Object-literal methods, CommonJS exports, prototype methods, callbacks' inner functions."""
    source = (
        "const api = {\n  get(url) { return fetch(url); },\n  post: function (url, body) { return send(url, body); },\n"
        "  put: (url) => send(url),\n};\n"
        "module.exports = {\n  parseHeaders(raw) { return raw.split(','); },\n};\n"
        "exports.render = function (tpl) { return tpl; };\n"
        "Widget.prototype.draw = function () { return 1; };\n"
        "export default {\n  name: 'widget',\n  methods: { refresh() { return 1; } },\n};\n"
        "describe('x', () => {\n  function helperInsideCallback() { return 1; }\n});\n"
        "app.get('/', function handleIndex(req, res) { res.send('ok'); });\n"
        "export function fromAjax(init) {\n  return new Observable((subscriber) => {\n"
        "    const addErrorEvent = (type) => subscriber.error(type);\n  });\n}\n")
    for language in ("javascript", "typescript"):
        got = {(u.kind, u.name, u.container) for u in extract_units("src/api.js", language, source) if u.kind != "comment"}
        assert {("method", "get", "api"), ("method", "post", "api"), ("method", "put", "api"),
                ("function", "parseHeaders", None), ("function", "render", None), ("method", "draw", "Widget"),
                ("method", "refresh", "methods"), ("function", "helperInsideCallback", None),
                ("function", "handleIndex", None), ("function", "addErrorEvent", "fromAjax")} <= got, (language, got)


def test_csharp_and_php():
    cs = ("namespace Shop.Billing\n{\n    /// <summary>Adds the tax to a <see cref=\"Money\"/> amount.</summary>\n"
          "    /// <param name=\"rate\">the tax rate</param>\n"
          "    public class InvoiceCalculator\n    {\n"
          "        public decimal AddTax(decimal net, decimal rate) { return net * (1 + rate); }\n"
          "        public InvoiceCalculator(int precision) { }\n    }\n"
          "    public interface ICalculator { decimal AddTax(decimal net, decimal rate); }\n"
          "    public record Money(decimal Amount, string Currency);\n}\n")
    units = extract_units("src/Billing.cs", language_of("src/Billing.cs"), cs)
    calculator = find(units, "InvoiceCalculator")
    assert calculator.kind == "class" and calculator.container == "Shop.Billing"
    assert calculator.doc == "Adds the tax to a Money amount.\nrate: the tax rate"
    assert {("method", "AddTax"), ("constructor", "InvoiceCalculator"), ("interface", "ICalculator"),
            ("class", "Money")} <= {(u.kind, u.name) for u in units}
    php = ("<?php\nnamespace App\\\\Billing;\n\n/** Computes invoice totals. */\nclass InvoiceCalculator\n{\n"
           "    public function addTax(float $net, float $rate): float { return $net * (1 + $rate); }\n}\n"
           "trait Loggable { public function log(string $m): void {} }\n"
           "function format_money(float $amount): string { return sprintf('%.2f', $amount); }\n")
    units = extract_units("src/Billing.php", language_of("src/Billing.php"), php)
    assert find(units, "InvoiceCalculator").doc == "Computes invoice totals."
    assert find(units, "addTax").container == "InvoiceCalculator" and find(units, "addTax").kind == "method"
    assert find(units, "Loggable").kind == "trait" and find(units, "format_money").kind == "function"
