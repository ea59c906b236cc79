"""Units out of one file's text: tree-sitter symbols and comments, Markdown sections, text windows."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from patina_lsp.index.languages import CODE_LANGUAGES, parser_for
from patina_lsp.index.units import Span, Unit
from patina_lsp.vocabulary import CLASS_LIKE

log = logging.getLogger(__name__)

WINDOW_LINES = 40
MAX_NESTING = 100  # syntax levels searched for symbols (each costs a few Python frames)
WINDOW_OVERLAP = 5
# The version of what extraction makes of a file: a store whose units came from another is extracted
# again (workspace.plan). 2: C functions behind annotation macros, C++ headers, Ruby `class << self`,
# JavaScript functions that are values (object literals, exports, callbacks), C# and PHP. 3: C and C++
# function declarations (prototypes, methods declared in a class), Doxygen tags out of C/C++ docs.
EXTRACTOR = "3"
MIN_COMMENT_CHARS = 40
MAX_SIGNATURE_CHARS = 300
COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})

# node type -> kind, per language; "function" becomes "method" inside a class-like container.
SYMBOLS: dict[str, dict[str, str]] = {
    "python": {"function_definition": "function", "class_definition": "class"},
    "javascript": {"function_declaration": "function", "generator_function_declaration": "function",
                   "class_declaration": "class", "method_definition": "method"},
    "typescript": {"function_declaration": "function", "generator_function_declaration": "function",
                   "class_declaration": "class", "abstract_class_declaration": "class",
                   "method_definition": "method", "abstract_method_signature": "method",
                   "interface_declaration": "interface", "enum_declaration": "enum",
                   "type_alias_declaration": "type", "module": "module", "internal_module": "module"},
    "go": {"function_declaration": "function", "method_declaration": "method"},
    "rust": {"function_item": "function", "function_signature_item": "function", "struct_item": "struct",
             "enum_item": "enum", "trait_item": "trait", "union_item": "struct", "type_item": "type",
             "mod_item": "module", "macro_definition": "macro"},
    "java": {"class_declaration": "class", "interface_declaration": "interface", "enum_declaration": "enum",
             "record_declaration": "class", "annotation_type_declaration": "interface",
             "method_declaration": "method", "constructor_declaration": "constructor"},
    "c": {"function_definition": "function", "struct_specifier": "struct", "union_specifier": "struct",
          "enum_specifier": "enum"},
    "cpp": {"function_definition": "function", "struct_specifier": "struct", "union_specifier": "struct",
            "enum_specifier": "enum", "class_specifier": "class", "namespace_definition": "namespace"},
    "ruby": {"method": "method", "singleton_method": "method", "class": "class", "module": "module"},
    "csharp": {"class_declaration": "class", "interface_declaration": "interface", "struct_declaration": "struct",
               "record_declaration": "class", "enum_declaration": "enum", "method_declaration": "method",
               "constructor_declaration": "constructor", "namespace_declaration": "namespace",
               "file_scoped_namespace_declaration": "namespace"},
    "php": {"class_declaration": "class", "interface_declaration": "interface", "trait_declaration": "trait",
            "enum_declaration": "enum", "function_definition": "function", "method_declaration": "method"},
}
SYMBOLS["tsx"] = SYMBOLS["typescript"]

# JS/TS `const f = () => ...` and `const f = function () {...}`
FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})

JS_LIKE = ("javascript", "typescript", "tsx")
# per language: a node that wraps a definition -> the field holding it
WRAPPERS: dict[str, dict[str, str]] = {
    "python": {"decorated_definition": "definition"},
    **{language: {"export_statement": "declaration"} for language in JS_LIKE},
}
# node types that are no symbol but may hold some: searched when met
NESTING = frozenset({
    "block", "declaration_list", "class_body", "statement_block", "field_declaration_list", "body_statement",
    "if_statement", "expression_statement", "export_statement", "template_declaration", "linkage_specification",
    "preproc_ifdef", "preproc_if", "preproc_else", "interface_body", "enum_body", "object_type", "program",
    "module", "namespace_definition", "try_statement", "with_statement", "decorated_definition", "else_clause",
    "elif_clause",
    # Ruby: `class << self`, begin/rescue, conditional definitions
    "singleton_class", "begin", "rescue", "ensure", "then", "if", "unless", "elsif", "else",
    # a region the parser could not make sense of (often a macro) still holds real definitions; in
    # C/C++, one whose name was lost to a macro (`FMT_BEGIN_NAMESPACE ... {`) holds them in its body
    "ERROR", "compound_statement",
})
C_NESTING = frozenset({"declaration", "type_definition", "field_declaration"})  # C and C++ only
# A line holding one upper-case word: an export macro on its own line above a declaration
# (`EVENT2_EXPORT_SYMBOL`, `WINAPI`), between the declaration and its doc comment
_LONE_MACRO = re.compile(r"\s*[A-Z][A-Z0-9_]*\s*")
# Doxygen tags that say nothing a reader searches for, on a line of their own
_DOXYGEN_LONE = re.compile(r"[@\\](internal|private|public|protected|static|nosubgrouping|\{|\})\s*$"
                           r"|[@\\](ingroup|addtogroup|fn|var|def|typedef|memberof|relates)\b.*$")
_DOXYGEN_BRIEF = re.compile(r"^[@\\](brief|short|summary)\s+")


@dataclass
class _Source:
    text: str
    data: bytes
    lines: list[str]
    line_bytes: list[bytes]

    @staticmethod
    def of(text: str) -> _Source:
        lines = text.split("\n")
        return _Source(text, text.encode("utf-8", "surrogatepass"), lines,
                       [line.encode("utf-8", "surrogatepass") for line in lines])

    def col(self, row: int, byte_col: int) -> int:
        """The LSP column of a byte offset: UTF-16 code units (LSP's default position encoding)."""
        if row >= len(self.line_bytes):
            return 0
        return utf16_len(self.line_bytes[row][:byte_col].decode("utf-8", "replace"))

    def span(self, start: Node, end: Node | None = None) -> Span:
        end = end or start
        (sr, sc), (er, ec) = start.start_point, end.end_point
        return Span(sr, self.col(sr, sc), er, self.col(er, ec))

    def slice(self, start_byte: int, end_byte: int) -> str:
        return self.data[start_byte:end_byte].decode("utf-8", "replace")

    def node_text(self, node: Node | None) -> str:
        return "" if node is None else self.slice(node.start_byte, node.end_byte)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (a character outside the BMP, like most emoji, counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _clean_comment(text: str) -> str:
    """Comment text without its markers (//, #, /* */, ///, --, leading *)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        line = re.sub(r"^(/\*+!?|\*+/|\*(?!/)|//[/!]?|#+!?|--)", "", line).strip()
        line = re.sub(r"\*+/$", "", line).strip()
        out.append(line)
    return "\n".join(out).strip()


def _xml_doc(text: str) -> str:
    """C#'s XML doc comments as words: `<summary>Adds.</summary> <param name="x">...` -> `Adds. x: ...`."""
    text = re.sub(r'<(?:see|seealso|paramref|typeparamref)\s+(?:cref|name|langword)="([^"]*)"\s*/>', r"\1", text)
    text = re.sub(r'<(?:param|typeparam)\s+name="([^"]*)">', r"\1: ", text)
    return re.sub(r"</?[a-zA-Z]+[^>]*>", "", text).strip()


def _python_docstring(node: Node, src: _Source) -> str:
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return ""
    first = body.named_children[0]
    if first.type == "expression_statement" and first.named_child_count and first.named_children[0].type == "string":
        raw = src.node_text(first.named_children[0])
        raw = re.sub(r'^[rRbBuUfF]*("""|\'\'\'|"|\')', "", raw)
        raw = re.sub(r'("""|\'\'\'|"|\')$', "", raw)
        lines = raw.strip().splitlines()
        # drop the common indentation of continuation lines
        rest = [line for line in lines[1:] if line.strip()]
        indent = min((len(line) - len(line.lstrip()) for line in rest), default=0)
        return "\n".join([lines[0].strip()] + [line[indent:] for line in lines[1:]]).strip() if lines else ""
    return ""


def _name_node(node: Node, language: str) -> Node | None:
    name = node.child_by_field_name("name")
    if name is not None:
        return name
    if language in ("c", "cpp") and node.type == "function_definition":
        top = declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type not in (
                "identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"):
            declarator = declarator.child_by_field_name("declarator")
        kind = node.child_by_field_name("type")
        if declarator is None and top is not None and top.type == "parenthesized_declarator" \
                and kind is not None and kind.type == "type_identifier":
            # `static int __init name(void)`: an annotation macro the grammar cannot know ends the
            # declaration early, and `name(void) {...}` parses as type `name`, declarator `(void)`
            # (2% of the function definitions in the Linux kernel's kernel/ and mm/)
            return kind
        return declarator
    return None


def _c_declared_function(node: Node) -> Node | None:
    """The name a C/C++ declaration declares a function by (`int f(void);`, `char *g(int);`, a
    method declared in a class), or None: a variable, a function pointer (`int (*f)(int)`), or a
    declaration of several names."""
    declarators = node.children_by_field_name("declarator")
    if len(declarators) != 1:
        return None
    declarator = declarators[0]
    while declarator is not None and declarator.type in ("pointer_declarator", "reference_declarator"):
        declarator = declarator.child_by_field_name("declarator") or (
            declarator.named_children[-1] if declarator.named_children else None)
    if declarator is None or declarator.type != "function_declarator":
        return None
    name = declarator.child_by_field_name("declarator")
    if name is None or name.type not in (
            "identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name"):
        return None
    return name


def _doxygen(doc: str) -> str:
    """A C/C++ doc comment without the Doxygen tags that would lead its first paragraph
    (`@internal`, `@ingroup x`, `\\fn ...`), and `@brief X` as X."""
    lines = [line for line in doc.splitlines() if not _DOXYGEN_LONE.match(line.strip())]
    return "\n".join(_DOXYGEN_BRIEF.sub("", line, count=1) for line in lines).strip()


def _end_row(node: Node) -> int:
    """The last row a node covers (some grammars end a line comment at column 0 of the next row)."""
    row, col = node.end_point
    return row - 1 if col == 0 and row > node.start_point[0] else row


def _go_receiver_type(receiver: str) -> str | None:
    """`(s *Server[T])` -> `Server`."""
    match = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*\)\s*$", receiver)
    return match.group(1) if match else None


def _signature(node: Node, src: _Source, language: str, body: Node | None = None) -> str:
    body = body or node.child_by_field_name("body")
    if body is not None and body.start_byte > node.start_byte:
        text = src.slice(node.start_byte, body.start_byte)
        if language == "ruby":
            text = text.split("\n", 1)[0]
    elif node.type in ("declaration", "field_declaration", "function_declarator"):  # a C/C++ prototype: all of it
        text = src.node_text(node).rstrip().rstrip(";")
    else:
        text = src.node_text(node).split("\n", 1)[0]
    text = re.sub(r"\s+", " ", text).strip().rstrip("{:").strip()
    return text[:MAX_SIGNATURE_CHARS]


class _Extractor:
    def __init__(self, path: str, language: str, src: _Source):
        self.path, self.language, self.src = path, language, src
        self.symbols = SYMBOLS.get(language, {})
        self.units: list[Unit] = []
        self.doc_comment_rows: set[int] = set()
        self.comment_nodes: list[Node] = []
        self.comment_by_end_row: dict[int, Node] = {}
        self.depth = 0  # nesting of `visit` calls: bounded, so a generated file cannot exhaust the stack
        self.too_deep = 0  # subtrees not visited because of that bound
        self.in_function_body = 0  # inside a C/C++ function's body, where declarations are local
        self.in_c_function = 0  # inside a C function's body, where a "function definition" is a loop
        # macro and its block (`for_each_possible_cpu(cpu) { ... }`): C has no nested functions. (Not
        # in C++, where a macro-opened namespace, `FMT_BEGIN_NAMESPACE`, can look like a function.)

    def index_comments(self, root: Node) -> None:
        for node in _walk_comments(root):
            self.comment_nodes.append(node)
            self.comment_by_end_row[_end_row(node)] = node

    # -- doc comments -------------------------------------------------------
    def _leading_comments(self, node: Node) -> list[Node]:
        """Comments ending on the lines directly above `node` (no blank line between)."""
        out: list[Node] = []
        row = node.start_point[0] - 1
        if self.language in ("c", "cpp"):  # past an export macro on its own line (`EVENT2_EXPORT_SYMBOL`)
            for _ in range(2):
                if row < 0 or row in self.comment_by_end_row or not _LONE_MACRO.fullmatch(self.src.lines[row]):
                    break
                row -= 1
        while row in self.comment_by_end_row:
            comment = self.comment_by_end_row[row]
            out.insert(0, comment)
            row = comment.start_point[0] - 1
        return out

    # -- symbols ------------------------------------------------------------
    def _kind(self, node: Node, container_kind: str | None) -> str | None:
        kind = self.symbols.get(node.type)
        if kind is None:
            return None
        if node.type in ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier"):
            if node.child_by_field_name("body") is None:
                return None  # a use of the type, not its definition
        if self.language == "go" and node.type == "type_spec":
            return None
        if kind == "function" and container_kind in ("class", "struct", "interface", "trait", "impl", "enum"):
            return "method"
        return kind

    @contextlib.contextmanager
    def _deeper(self) -> Iterator[bool]:
        """One syntax level down; yields False (and counts it) past MAX_NESTING."""
        self.depth += 1
        try:
            allowed = self.depth <= MAX_NESTING
            if not allowed:
                self.too_deep += 1
            yield allowed
        finally:
            self.depth -= 1

    def visit(self, node: Node, container: str | None, container_kind: str | None) -> None:
        with self._deeper() as allowed:
            if allowed:
                for child in node.named_children:
                    self._visit_one(child, container, container_kind)

    def _visit_one(self, node: Node, container: str | None, container_kind: str | None) -> None:
        outer = target = node
        field = WRAPPERS.get(self.language, {}).get(node.type)
        if field is not None:  # a decorator or an export around the definition
            target = node.child_by_field_name(field) or node
        handler = SPECIAL.get(self.language, {}).get(target.type)
        if handler is not None and handler(self, outer, target, container, container_kind):
            return
        kind = self._kind(target, container_kind)
        if kind is None:
            # not a symbol: look inside (e.g. a class body nested in a statement)
            if target.type not in COMMENT_TYPES and target.named_child_count and target.type not in (
                    "string", "template_string") and (
                    target.type in NESTING or target.type in C_NESTING and self.language in ("c", "cpp")):
                self.visit(target, container, container_kind)
            return
        name = _name_node(target, self.language)
        if name is None:
            self.visit(target, container, container_kind)
            return
        if self.language == "go" and target.type == "method_declaration" and container is None:
            container = _go_receiver_type(self.src.node_text(target.child_by_field_name("receiver")))
        self._emit(outer, target, name, kind, container, None)

    # -- the node types SPECIAL hands to a method of their own: each returns whether it handled the node

    def _js_declaration(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        """`const f = () => ...`, `const api = { get() {...} }`, and values holding callbacks."""
        for decl in target.named_children:
            value = decl.child_by_field_name("value")
            name = decl.child_by_field_name("name")
            if decl.type != "variable_declarator" or value is None or name is None:
                continue
            if value.type in FUNCTION_VALUES:
                kind = "method" if container_kind == "class" else "function"
                self._emit(outer, decl, name, kind, container, value.child_by_field_name("body"))
            elif value.type == "object" and name.type == "identifier":
                # `const api = { get() {...}, post: function () {...} }`
                self._visit_object(value, self._qualify(container, self.src.node_text(name)))
            else:
                self._visit_js_expression(value, container, container_kind)
        return True

    def _js_expression_statement(self, outer: Node, target: Node, container: str | None,
                                 container_kind: str | None) -> bool:
        if not target.named_child_count:
            return False
        self._visit_js_statement(outer, target.named_children[0], container, container_kind)
        return True

    def _js_return(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        for child in target.named_children:  # `return new Observable((subscriber) => {...})`
            self._visit_js_expression(child, container, container_kind)
        return True

    def _js_export_value(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        value = outer.child_by_field_name("value")  # `export default { ... }`
        if value is not None and value.type == "object":
            self._visit_object(value, container)
            return True
        return False

    def _go_types(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        for spec in target.named_children:
            if spec.type == "type_spec":
                type_node = spec.child_by_field_name("type")
                kind = {"struct_type": "struct", "interface_type": "interface"}.get(
                    type_node.type if type_node is not None else "", "type")
                name = spec.child_by_field_name("name")
                if name is not None:
                    self._emit(outer if target.named_child_count == 1 else spec, spec, name, kind, container,
                               spec.child_by_field_name("type"))
        return True

    def _rust_impl(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        type_node = target.child_by_field_name("type")
        name = self.src.node_text(type_node) if type_node is not None else "impl"
        body = target.child_by_field_name("body")
        if body is not None:
            self.visit(body, name if not container else f"{container}.{name}", "impl")
        return True

    def _c_declaration(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        """A documented function declared, not defined: a prototype in a header (where C documents its
        API) and a method declared in a C++ class (defined in a .cpp). An undocumented declaration is
        not a unit: its definition is one (a forward declaration, or a header's list of what a source
        file defines), and a declaration inside a function's body is a local one."""
        name = _c_declared_function(target)
        if name is None or self.in_function_body or not self._leading_comments(outer) \
                or self.src.node_text(target).rstrip().endswith(("= delete;", "= default;")):
            return False
        kind = "method" if container_kind in ("class", "struct") else "function"
        self._emit(outer, target, name, kind, container, None)
        return True

    def _c_stray_declarator(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        """`f(int x)` of a prototype whose start the parser lost to a macro (`GIT_BEGIN_DECL` before
        `GIT_EXTERN(int) f(int x);` makes one region it cannot read): a prototype still, if documented."""
        parent = target.parent
        name = target.child_by_field_name("declarator")
        if name is not None and _LONE_MACRO.fullmatch(self.src.node_text(name)):
            # `GIT_EXTERN(int) f(...)` read as declarator `GIT_EXTERN(int)` and a call `f(...)`
            call = next((c for c in target.named_children if c.type == "call_expression"), None)
            name = call.child_by_field_name("function") if call is not None else None
        if parent is None or parent.type != "ERROR" or name is None or name.type != "identifier" \
                or self.in_function_body or not self._leading_comments(outer):
            return False
        self._emit(outer, target, name, "function", container, None)
        return True

    def _c_nested_function(self, outer: Node, target: Node, container: str | None, container_kind: str | None) -> bool:
        """Inside a C function's body a "function definition" is a misparse (a loop behind a macro)."""
        if not self.in_c_function:
            return False
        self.visit(target, container, container_kind)
        return True

    # -- JavaScript / TypeScript: functions that are values ---------------------------------
    @staticmethod
    def _qualify(container: str | None, name: str) -> str:
        return f"{container}.{name}" if container else name

    def _visit_object(self, obj: Node, container: str | None) -> None:
        """Methods of an object literal: `get() {...}`, `post: function () {...}`, `put: () => ...`."""
        kind = "method" if container else "function"  # `module.exports = {...}`: functions
        with self._deeper() as allowed:
            if not allowed:
                return
            for child in obj.named_children:
                if child.type == "method_definition":
                    name = child.child_by_field_name("name")
                    if name is not None:
                        self._emit(child, child, name, kind, container, None)
                elif child.type == "pair":
                    key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
                    if key is None or value is None or key.type not in ("property_identifier", "string"):
                        continue
                    if value.type in FUNCTION_VALUES:
                        self._emit(child, child, key, kind, container, value.child_by_field_name("body"))
                    elif value.type == "object":  # `methods: { render() {...} }`
                        self._visit_object(value, self._qualify(container, self.src.node_text(key).strip("'\"")))

    def _visit_js_statement(self, outer: Node, expr: Node, container: str | None, container_kind: str | None) -> None:
        """`module.exports = {...}`, `exports.parse = function () {...}`, `Foo.prototype.bar = ...`, and
        the functions inside callbacks (`describe("...", () => { function helper() {...} })`)."""
        if expr.type == "assignment_expression":
            left, right = expr.child_by_field_name("left"), expr.child_by_field_name("right")
            if left is None or right is None:
                return
            name = left.child_by_field_name("property") if left.type == "member_expression" else left
            if right.type in FUNCTION_VALUES and name is not None and name.type in (
                    "property_identifier", "identifier"):
                owner = left.child_by_field_name("object") if left.type == "member_expression" else None
                owner_text = self.src.node_text(owner) if owner is not None else ""
                owner_text = owner_text.removesuffix(".prototype")
                scope = None if owner_text in ("", "exports", "module.exports", "this") else owner_text
                kind = "method" if scope else "function"
                self._emit(outer, expr, name, kind, self._qualify(container, scope) if scope else container,
                           right.child_by_field_name("body"))
                return
            if right.type == "object":
                text = self.src.node_text(left)
                self._visit_object(right, container if text in ("module.exports", "exports") else
                                   self._qualify(container, text))
                return
            self._visit_js_expression(right, container, container_kind)
            return
        self._visit_js_expression(expr, container, container_kind)

    def _visit_js_expression(self, expr: Node, container: str | None, container_kind: str | None) -> None:
        """The bodies of the functions passed as arguments (callbacks), and named function expressions."""
        with self._deeper() as allowed:
            if not allowed:
                return
            if expr.type in ("call_expression", "new_expression", "await_expression", "parenthesized_expression",
                             "arguments"):
                for child in expr.named_children:
                    self._visit_js_expression(child, container, container_kind)
            elif expr.type in FUNCTION_VALUES:
                name = expr.child_by_field_name("name")
                body = expr.child_by_field_name("body")
                if name is not None:  # `app.get("/", function handleIndex(req, res) {...})`
                    self._emit(expr, expr, name, "function", container, body)
                elif body is not None and body.type == "statement_block":
                    self.visit(body, container, container_kind)

    def _emit(self, outer: Node, target: Node, name_node: Node, kind: str, container: str | None,
              signature_body: Node | None) -> None:
        src = self.src
        name = re.sub(r"\s+", "", src.node_text(name_node))
        comments = self._leading_comments(outer)
        doc = ""
        if self.language == "python":
            doc = _python_docstring(target, src)
        if comments:
            for c in comments:
                self.doc_comment_rows.update(range(c.start_point[0], _end_row(c) + 1))
            comment_doc = _clean_comment("\n".join(src.node_text(c) for c in comments))
            if self.language == "csharp":
                comment_doc = _xml_doc(comment_doc)
            elif self.language in ("c", "cpp"):
                comment_doc = _doxygen(comment_doc)
            doc = f"{comment_doc}\n{doc}".strip() if doc else comment_doc
        # The range starts at the declaration (decorators included), not at its doc comment:
        # that is where a jump should land.
        self.units.append(Unit(
            path=self.path, language=self.language, kind=kind, name=name, container=container,
            span=src.span(outer), name_span=src.span(name_node),
            signature=_signature(target, src, self.language, signature_body), doc=doc, code=src.node_text(outer)))
        body = target.child_by_field_name("body")
        if kind in CLASS_LIKE and body is None and self.language == "ruby":
            body = target
        if body is not None:
            qualified = f"{container}.{name}" if container else name
            child_kind = kind if kind in CLASS_LIKE else "function"
            c_function = self.language == "c" and target.type == "function_definition"
            function_body = self.language in ("c", "cpp") and target.type == "function_definition"
            self.in_c_function += c_function
            self.in_function_body += function_body
            try:
                self.visit(body, qualified, child_kind)
            finally:
                self.in_c_function -= c_function
                self.in_function_body -= function_body

    # -- standalone comments --------------------------------------------------
    def comments(self, root: Node) -> None:
        block: list[Node] = []

        def flush() -> None:
            if not block:
                return
            rows = set(range(block[0].start_point[0], _end_row(block[-1]) + 1))
            if not rows & self.doc_comment_rows:
                text = _clean_comment("\n".join(self.src.node_text(c) for c in block))
                if len(text) >= MIN_COMMENT_CHARS:
                    first = text.splitlines()[0][:80]
                    self.units.append(Unit(
                        path=self.path, language=self.language, kind="comment", name=first, container=None,
                        span=self.src.span(block[0], block[-1]), name_span=self.src.span(block[0]),
                        signature="", doc=text, code=self.src.slice(block[0].start_byte, block[-1].end_byte)))
            block.clear()

        for node in self.comment_nodes:
            if block and node.start_point[0] > _end_row(block[-1]) + 1:
                flush()
            block.append(node)
        flush()


def _walk_comments(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in COMMENT_TYPES:
            yield node
            continue
        stack.extend(reversed(node.named_children))


def extract_code(path: str, language: str, text: str) -> list[Unit]:
    """Symbols and standalone comments of a source file, in source order."""
    parser = parser_for(language)
    if parser is None:
        return []
    src = _Source.of(text)
    tree = parser.parse(src.data)
    ex = _Extractor(path, language, src)
    ex.index_comments(tree.root_node)
    ex.visit(tree.root_node, None, None)
    ex.comments(tree.root_node)
    if ex.too_deep:
        log.info("%s: %d blocks nested deeper than %d levels were not searched for symbols",
                 path, ex.too_deep, MAX_NESTING)
    return sorted(ex.units, key=lambda u: (u.span.start_line, u.span.start_col, -u.span.end_line))


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def extract_markdown(path: str, text: str) -> list[Unit]:
    """One unit per heading section (the text up to the next heading of any level)."""
    lines = text.split("\n")
    heads: list[tuple[int, str]] = []
    fenced = False
    for row, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (m := _HEADING.match(line)):
            heads.append((row, m.group(2)))
    if not heads or heads[0][0] > 0 and any(line.strip() for line in lines[: heads[0][0]]):
        heads.insert(0, (0, path.rsplit("/", 1)[-1]))
    units = []
    trail: dict[int, str] = {}
    for i, (row, title) in enumerate(heads):
        end = heads[i + 1][0] - 1 if i + 1 < len(heads) else len(lines) - 1
        while end > row and not lines[end].strip():
            end -= 1
        body = "\n".join(lines[row : end + 1])
        if not body.strip():
            continue
        level = len(_HEADING.match(lines[row]).group(1)) if _HEADING.match(lines[row]) else 1
        trail = {k: v for k, v in trail.items() if k < level}
        container = " > ".join(trail[k] for k in sorted(trail)) or None
        trail[level] = title
        units.append(Unit(path=path, language="markdown", kind="section", name=title, container=container,
                          span=Span(row, 0, end, utf16_len(lines[end])), name_span=Span(row, 0, row, utf16_len(lines[row])),
                          signature="", doc="", code=body))
    return units


def extract_windows(path: str, language: str, text: str, size: int = WINDOW_LINES,
                    overlap: int = WINDOW_OVERLAP) -> list[Unit]:
    """Overlapping windows of `size` lines, for files with no structure we know."""
    lines = text.split("\n")
    units = []
    start = 0
    name = path.rsplit("/", 1)[-1]
    while start < len(lines):
        end = min(start + size, len(lines)) - 1
        while end > start and not lines[end].strip():
            end -= 1
        body = "\n".join(lines[start : end + 1])
        if body.strip():
            units.append(Unit(path=path, language=language, kind="text", name=f"{name}:{start + 1}-{end + 1}",
                              container=None, span=Span(start, 0, end, utf16_len(lines[end])),
                              name_span=Span(start, 0, start, utf16_len(lines[start])), signature="", doc="", code=body))
        if start + size >= len(lines):
            break
        start += size - overlap
    return units


def extract_units(path: str, language: str, text: str) -> list[Unit]:
    """Everything searchable in one file."""
    if language in CODE_LANGUAGES:
        units = extract_code(path, language, text)
        return units if units else extract_windows(path, language, text)
    if language == "markdown":
        return extract_markdown(path, text)
    return extract_windows(path, language, text)


# per language: node types handled by a method of _Extractor of their own, before the generic path
# (each returns whether it handled the node; if not, the generic path goes on)
SPECIAL: dict[str, dict[str, object]] = {
    **{language: {"lexical_declaration": _Extractor._js_declaration,
                  "variable_declaration": _Extractor._js_declaration,
                  "expression_statement": _Extractor._js_expression_statement,
                  "return_statement": _Extractor._js_return,
                  "export_statement": _Extractor._js_export_value} for language in JS_LIKE},
    "go": {"type_declaration": _Extractor._go_types},
    "rust": {"impl_item": _Extractor._rust_impl},
    "c": {"function_definition": _Extractor._c_nested_function, "declaration": _Extractor._c_declaration,
          "function_declarator": _Extractor._c_stray_declarator},
    "cpp": {"declaration": _Extractor._c_declaration, "field_declaration": _Extractor._c_declaration,
            "function_declarator": _Extractor._c_stray_declarator},
}
