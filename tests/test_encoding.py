"""Files in legacy encodings keep their names: the declared encoding, else UTF-8, else a detector's guess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from patina_lsp.index.encoding import decode_source, declared_encoding
from patina_lsp.index.symbols import extract_units

PY_LATIN1_COOKIE = "# -*- coding: latin-1 -*-\ndef café_menu():\n    return 'crème brûlée'\n".encode("latin-1")
PY_LATIN1 = "def café_menu():\n    return 'crème brûlée'\n".encode("latin-1")
PY_CP1252 = "def prix_en_euros():\n    return '€ 5'  # “guillemets”\n".encode("cp1252")
C_CP1252_VIM = "/* vim: set fileencoding=cp1252 : */\nint café_count(void) { return 1; } /* “€” */\n".encode("cp1252")
C_LATIN1 = "/* François */\nint café_count(void)\n{\n    return 1;\n}\n".encode("latin-1")


@pytest.mark.parametrize("data, text, encoding", [
    (PY_LATIN1_COOKIE, "def café_menu():", "iso8859-1"),
    (PY_LATIN1, "def café_menu():", "cp1252"),
    (PY_CP1252, "return '€ 5'  # “guillemets”", "cp1252"),
    (C_CP1252_VIM, "int café_count(void) { return 1; } /* “€” */", "cp1252"),
    (C_LATIN1, "/* François */", "cp1252"),
    ("x = 'ünïcode'\n".encode(), "x = 'ünïcode'", "utf-8"),
    (b"\xef\xbb\xbfx = 1\n", "x = 1", "utf-8-sig"),
    ("x = 'ünïcode'\n".encode("utf-16"), "x = 'ünïcode'", "utf-16"),
    ("def f():\n    return '日本語のテキスト'\n".encode("shift_jis"), "日本語のテキスト", "cp932"),
])
def test_each_file_is_read_in_the_encoding_that_fits(data, text, encoding):
    decoded, used = decode_source(data)
    assert text in decoded and "\ufffd" not in decoded
    assert used == encoding


def test_a_cookie_that_lies_is_ignored_and_an_unknown_one_too():
    assert declared_encoding(b"# coding: nonsense-42\nx = 1\n") is None
    decoded, used = decode_source("# coding: ascii\nname = 'é'\n".encode("utf-8"))
    assert decoded == "# coding: ascii\nname = 'é'\n" and used == "utf-8"
    assert declared_encoding(b"x = 1\ny = 2\n# coding: latin-1\n") is None  # only the first two lines count


@pytest.mark.parametrize("path, data, name, line, column", [
    ("menu.py", PY_LATIN1_COOKIE, "café_menu", 1, 4),
    ("menu2.py", PY_LATIN1, "café_menu", 0, 4),
    ("count.c", C_LATIN1, "café_count", 1, 4),
    ("count2.c", C_CP1252_VIM, "café_count", 1, 4),
])
def test_names_and_columns_survive(path, data, name, line, column):
    text, _ = decode_source(data)
    units = extract_units(path, "python" if path.endswith(".py") else "c", text)
    unit = next(u for u in units if u.name == name)
    assert (unit.name_span.start_line, unit.name_span.start_col) == (line, column)
    assert unit.name_span.end_col - unit.name_span.start_col == len(name)  # UTF-16 units: one for é
    assert name in unit.preview()


def test_the_command_line_finds_a_latin1_name_by_name(tmp_path, model_files):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "menu.py").write_bytes(PY_LATIN1_COOKIE)
    (ws / "count.c").write_bytes(C_CP1252_VIM)
    for query, expected in (("café_menu", "café_menu"), ("café_count", "café_count")):
        done = subprocess.run([sys.executable, "-m", "patina_lsp", "search", "--json", "--mode", "lexical",
                               "--cache-dir", str(tmp_path / "cache"), str(ws), query],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        first = json.loads(done.stdout)["items"][0]
        assert first["name"] == expected and "\ufffd" not in first["preview"] and expected in first["preview"]
        assert first["selectionRange"]["start"] == {"line": 1, "character": 4}
