"""A source file's bytes to text: the encoding it declares, else UTF-8, else a detector's guess.

Older code bases keep Latin-1 / cp1252 (and Shift-JIS, GBK ...) in names, strings and comments.
Decoded as UTF-8 with replacement, `def café_menu()` became `caf�_menu` and tree-sitter split the
name at the replacement character, so a search by name could not find it. In order:
1. a byte-order mark (UTF-8, UTF-16, UTF-32);
2. an encoding declared in the first two lines: Python's PEP 263 cookie, which is also Emacs'
   `-*- coding: x -*-` and Vim's `fileencoding=x` (Ruby, Perl, C files use them too);
3. UTF-8, when the bytes are valid UTF-8 (nearly every file);
4. charset-normalizer's guess from the first 64 KiB (bounded: detection reads no more);
5. UTF-8 with replacement characters, as before.
Positions are counted on the decoded text (symbols.py), which is what an editor shows.
"""

from __future__ import annotations

import codecs
import re

DETECT_BYTES = 64 * 1024
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_COOKIE = re.compile(rb"^[ \t\f]*(?:#|//|/\*|--|;|%|\*).*?(?:en)?coding[:=][ \t]*([-\w.]+)", re.M)


def declared_encoding(data: bytes) -> str | None:
    """The codec a file's first two lines declare (a PEP 263 / Emacs / Vim cookie), if Python knows it."""
    head = b"\n".join(data.split(b"\n", 2)[:2])
    match = _COOKIE.search(head)
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


WESTERN = "cp1252"  # Latin-1's superset: what most legacy single-byte source code is written in


def _single_byte(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _SINGLE_BYTE or len("\u00e9".encode(encoding, errors="ignore")) <= 1 \
            and len("\u65e5".encode(encoding, errors="ignore")) <= 1
    except LookupError:
        return False


_SINGLE_BYTE = frozenset({"latin-1", "iso8859-1", "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257"})


def _guess(data: bytes) -> str | None:
    """The detector's guess. On a few hundred bytes it cannot tell the single-byte code pages apart
    (measured: Latin-1 French and cp1252 quotes both came back as cp1250, `crème` read as `crčme`), so
    a single-byte guess is read as cp1252 when the bytes allow; multi-byte guesses (Shift-JIS, GBK,
    Big5, EUC-KR ...) are taken as they are."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_BYTES]).best()
    if best is None:
        return None
    if _single_byte(best.encoding):
        try:
            data.decode(WESTERN)
            return WESTERN
        except UnicodeDecodeError:
            pass
    return best.encoding


def decode_source(data: bytes) -> tuple[str, str]:
    """(text, the encoding it was read with); `…+replace` when bytes had to be replaced."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name
    declared = declared_encoding(data)
    if declared is not None and declared not in ("utf-8", "utf_8"):
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass  # the cookie is wrong: read the bytes as if it were not there
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = _guess(data)
    if guess is not None:
        try:
            return data.decode(guess), guess
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode("utf-8", errors="replace"), "utf-8+replace"
