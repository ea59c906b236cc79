"""A code-only copy of a Python dev set: every docstring and comment removed, queries kept.

    python tests/benchmarks/strip_docs.py SET_DIR OUT_DIR     (e.g. /tmp/patina-eval/django /tmp/patina-eval/django-nodoc)

The queries of ../shared/eval's sets are sentences from the maintainers' reference docs, which
are mostly the docstrings themselves; removing the docstrings (the CodeSearchNet way) leaves the
code alone to be found by what its docs said. Line numbers are kept (removed lines become blank,
a body left empty gets `pass`), so queries.jsonl and related.jsonl are copied unchanged.
Deterministic: the same input gives the same output.
"""

from __future__ import annotations

import ast
import io
import shutil
import sys
import tokenize
from pathlib import Path


def strip(source: str) -> str:
    """`source` without docstrings and comments, line for line."""
    lines = source.split("\n")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            start, end = first.lineno - 1, first.end_lineno - 1
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            only = len(node.body) == 1 and not isinstance(node, ast.Module)
            for i in range(start, end + 1):
                lines[i] = ""
            if only:
                lines[start] = indent + "pass"
    text = "\n".join(lines)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    out = text.split("\n")
    for tok in reversed(tokens):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            line = out[row - 1]
            out[row - 1] = (line[:col] + line[tok.end[1]:]).rstrip()
    return "\n".join(out)


def main() -> int:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    if dst.exists():
        shutil.rmtree(dst)
    for path in sorted((src / "corpus").rglob("*")):
        target = dst / "corpus" / path.relative_to(src / "corpus")
        if path.is_dir():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            target.write_text(strip(path.read_text(errors="replace")))
        else:
            shutil.copyfile(path, target)
    for name in ("queries.jsonl", "related.jsonl"):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    print(f"{dst}: code-only copy of {src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
