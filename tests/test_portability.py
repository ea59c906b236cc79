"""The package imports on Windows and macOS: POSIX-only modules only behind the lock's platform switch."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "patina_lsp"
POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "posix"}
WINDOWS_ONLY = {"msvcrt", "winreg", "_winapi"}
SWITCH = PACKAGE / "index" / "filelock.py"  # imports each under `if os.name == "nt"`


def test_no_platform_only_module_is_imported_outside_the_lock_switch():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == SWITCH:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            offenders += [f"{path.relative_to(PACKAGE)}: {n}" for n in names
                          if n.split(".")[0] in POSIX_ONLY | WINDOWS_ONLY]
    assert not offenders, offenders


def test_the_lock_switch_imports_each_platform_module_on_its_platform_only():
    tree = ast.parse(SWITCH.read_text())
    [switch] = [n for n in tree.body if isinstance(n, ast.If)]
    assert ast.unparse(switch.test) == "os.name == 'nt'"
    windows = {a.name for n in ast.walk(ast.Module(switch.body, [])) if isinstance(n, ast.Import) for a in n.names}
    posix = {a.name for n in ast.walk(ast.Module(switch.orelse, [])) if isinstance(n, ast.Import) for a in n.names}
    assert windows == {"msvcrt"} and posix == {"fcntl"}
