"""File name -> language, and the tree-sitter grammars (from the per-language PyPI wheels)."""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import PurePosixPath

from tree_sitter import Language, Parser

EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".rb": "ruby",
    ".cs": "csharp",
    ".php": "php",
    ".md": "markdown", ".markdown": "markdown",
}

# language -> (module, function returning the grammar)
_GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "csharp": ("tree_sitter_c_sharp", "language"),
    "php": ("tree_sitter_php", "language_php"),  # PHP inside HTML, as .php files are
}

CODE_LANGUAGES = frozenset(_GRAMMARS)


def language_of(path: str) -> str:
    """The language of a workspace path, 'text' when unknown."""
    return EXTENSIONS.get(PurePosixPath(path).suffix.lower(), "text")


# C++ in a `.h` file: a class with a body, a namespace, a template, `std::`, an access specifier
_CPP_HEADER = re.compile(r"^\s*(?:namespace\s+\w+\s*\{|template\s*<|class\s+\w+[^;{]*\{|(?:public|private|protected)\s*:)"
                         r"|\bstd::", re.M)


def language_of_text(path: str, text: str) -> str:
    """language_of, except that a `.h` file written in C++ is C++ (the C grammar misreads its classes
    and templates: fmt's and jsoncpp's headers gave 470 function units as C, 1,293 functions and
    methods as C++)."""
    language = language_of(path)
    if language == "c" and path.lower().endswith(".h") and _CPP_HEADER.search(text):
        return "cpp"
    return language


@functools.lru_cache(maxsize=None)
def grammar(language: str) -> Language | None:
    spec = _GRAMMARS.get(language)
    if spec is None:
        return None
    module = importlib.import_module(spec[0])
    return Language(getattr(module, spec[1])())


def parser_for(language: str) -> Parser | None:
    """A new parser (parsers are not thread-safe; grammars are shared)."""
    lang = grammar(language)
    return Parser(lang) if lang is not None else None
