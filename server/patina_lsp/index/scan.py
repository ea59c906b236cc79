"""Walking a workspace: which files to index, honouring git's ignore rules, and why others were skipped."""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from patina_lsp.index.encoding import decode_source

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 1_000_000
# Folders that are never source: dependencies, environments, build output, caches.
DEFAULT_EXCLUDES = (
    ".git/", ".hg/", ".svn/", "node_modules/", ".venv/", "venv/", ".env/", "env/", ".tox/", ".nox/",
    "__pycache__/", ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", "build/", "dist/", "target/",
    "*.egg-info/", ".idea/", ".vscode-test/", ".cache/", "site-packages/",
)
SKIP_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".ico", ".pdf", ".zip", ".gz", ".tar", ".bz2", ".xz", ".7z", ".jar",
    ".class", ".so", ".dll", ".dylib", ".exe", ".o", ".a", ".pyc", ".woff", ".woff2", ".ttf", ".otf",
    ".mp3", ".mp4", ".wav", ".onnx", ".bin", ".safetensors", ".sqlite", ".db", ".lock", ".min.js", ".map",
})


@dataclass
class ScanStats:
    """What the walk saw: files accepted and files skipped, by reason."""

    files: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    replaced_utf8: int = 0

    def skip(self, reason: str, path: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        log.info("skipped %s: %s%s", path, reason, f" ({detail})" if detail else "")


@dataclass(frozen=True)
class FileEntry:
    """A file to index: its workspace-relative path and what `stat` said."""

    path: str
    size: int
    mtime_ns: int


def _read_ignore(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError:
        return []


class IgnoreRules:
    """git's ignore rules for one workspace root: nested .gitignore files, .git/info/exclude, user globs."""

    def __init__(self, root: Path, exclude: list[str] | tuple[str, ...] = (), use_defaults: bool = True):
        self.root = root
        base = list(DEFAULT_EXCLUDES if use_defaults else (".git/",)) + list(exclude)
        base += _read_ignore(root / ".git" / "info" / "exclude")
        self._global = pathspec.GitIgnoreSpec.from_lines(base)
        self._nested: dict[str, pathspec.GitIgnoreSpec] = {}

    def load_dir(self, rel_dir: str) -> None:
        """Read `rel_dir/.gitignore` (if any) before walking that folder."""
        lines = _read_ignore(self.root / rel_dir / ".gitignore")
        if lines:
            self._nested[rel_dir] = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        if self._global.match_file(probe):
            return True
        # a .gitignore applies to paths below its folder, relative to it; deeper files win, but
        # a simple "any matches" is what git does unless a deeper file re-includes with "!"
        verdict = None
        for folder, spec in self._nested.items():
            if folder == "" or rel.startswith(folder + "/"):
                sub = rel[len(folder) + 1 :] if folder else rel
                result = spec.check_file(sub + "/" if is_dir else sub)
                if result.include is not None:
                    depth = folder.count("/") + (1 if folder else 0)
                    if verdict is None or depth >= verdict[0]:
                        verdict = (depth, result.include)
        return bool(verdict and verdict[1])


QUIET_REASONS = frozenset({"ignored", "not a regular file"})  # the walk skips these without counting them


def file_verdict(rules: IgnoreRules, rel: str, st: os.stat_result, max_file_bytes: int) -> str | None:
    """Why the file `rel` (whose `stat`, symlinks followed, is `st`) may not be indexed; None if it may.

    Never a FIFO, socket or device (they block or never end), nothing ignored, no binary type, nothing
    over `max_file_bytes`.
    """
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if rules.ignored(rel, False):
        return "ignored"
    name = rel.rsplit("/", 1)[-1].lower()
    if any(name.endswith(s) for s in SKIP_SUFFIXES):
        return "binary file type"
    if st.st_size > max_file_bytes:
        return "too large"
    return None


class Admission:
    """Whether a path may be indexed: the one rule for the walk, watched files, closed and open buffers,
    and requests that read files. Built once per indexing pass (so .gitignore edits apply on the next).

    A path is admitted when it is inside the root (also after resolving symlinks), under no ignored
    or symlinked folder, not ignored itself, a regular file, of no binary type and not too large.
    """

    def __init__(self, root: Path, exclude: list[str] | tuple[str, ...] = (),
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES):
        self.root = Path(os.path.abspath(root))
        self.real_root = self.root.resolve()
        self.max_file_bytes = max_file_bytes
        self.rules = IgnoreRules(self.real_root, exclude)
        self._loaded: set[str] = set()

    def _folders_reason(self, rel: str) -> str | None:
        parts = rel.split("/")
        if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return "not a path inside the workspace"
        for i in range(len(parts)):
            folder = "/".join(parts[:i])
            if folder not in self._loaded:
                self.rules.load_dir(folder)
                self._loaded.add(folder)
            if folder and (self.rules.ignored(folder, True) or os.path.islink(self.root / folder)):
                return "ignored" if self.rules.ignored(folder, True) else "symlinked folder"
        return None

    def admit(self, rel: str) -> tuple[FileEntry | None, str | None]:
        """(the file's entry, None) if `rel` may be indexed, else (None, why not: "missing" if it is gone)."""
        reason = self._folders_reason(rel)
        if reason:
            return None, reason
        path = self.root / rel
        try:
            if not Path(os.path.realpath(path)).is_relative_to(self.real_root):
                return None, "symlink outside the workspace"
            st = os.stat(path)
        except FileNotFoundError:
            return None, "missing"
        except OSError as exc:
            return None, f"unreadable ({exc.strerror})"
        reason = file_verdict(self.rules, rel, st, self.max_file_bytes)
        return (FileEntry(rel, st.st_size, st.st_mtime_ns), None) if reason is None else (None, reason)

    def admit_text(self, rel: str, text: str) -> str | None:
        """Why an editor buffer for `rel` may not be indexed (None if it may): the file's rules, on its text."""
        reason = self._folders_reason(rel)
        if reason:
            return reason
        path = self.root / rel
        if os.path.lexists(path):
            if not Path(os.path.realpath(path)).is_relative_to(self.real_root):
                return "symlink outside the workspace"
            if os.path.exists(path) and not os.path.isfile(path):
                return "not a regular file"
        if self.rules.ignored(rel, False):
            return "ignored"
        if any(rel.lower().endswith(s) for s in SKIP_SUFFIXES):
            return "binary file type"
        if len(text.encode("utf-8", "surrogatepass")) > self.max_file_bytes:
            return "too large"
        return None


def walk(root: Path, exclude: list[str] | tuple[str, ...] = (), max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
         stats: ScanStats | None = None, follow_symlinks: bool = False) -> Iterator[FileEntry]:
    """Every indexable file under `root`, in a stable order. Bad entries are skipped, counted and logged."""
    stats = stats if stats is not None else ScanStats()
    root = root.resolve()
    rules = IgnoreRules(root, exclude)
    seen_dirs: set[tuple[int, int]] = set()
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = root / rel_dir if rel_dir else root
        try:
            st = abs_dir.stat()
            if (st.st_dev, st.st_ino) in seen_dirs:
                stats.skip("symlink loop", rel_dir or ".")
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            stats.skip("unreadable folder", rel_dir or ".", str(exc))
            continue
        rules.load_dir(rel_dir)
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                if is_link and not follow_symlinks:
                    target = Path(os.path.realpath(entry.path))
                    if not target.is_relative_to(root):
                        stats.skip("symlink outside the workspace", rel)
                        continue
                    if target.is_dir():
                        stats.skip("symlinked folder", rel)
                        continue
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                stats.skip("unreadable", rel, str(exc))
                continue
            if stat.S_ISDIR(st.st_mode):
                if not rules.ignored(rel, True):
                    subdirs.append(rel)
                continue
            reason = file_verdict(rules, rel, st, max_file_bytes)
            if reason in QUIET_REASONS:
                continue
            if reason is not None:
                stats.skip(reason, rel, f"{st.st_size} bytes > maxFileBytes {max_file_bytes}"
                           if reason == "too large" else "")
                continue
            stats.files += 1
            yield FileEntry(rel, st.st_size, st.st_mtime_ns)
        stack.extend(reversed(subdirs))


def read_text(root: Path, rel: str, stats: ScanStats | None = None,
              max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str | None:
    """A file's text (invalid UTF-8 replaced), or None for a binary, unreadable, special or too large
    file (counted). Opened without blocking and checked after opening: a file swapped for a FIFO or a
    device since it was admitted is not read, nor more than `max_file_bytes` of a growing one."""
    stats = stats if stats is not None else ScanStats()
    try:
        fd = os.open(root / rel, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        stats.skip("unreadable", rel, str(exc))
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # a folder, FIFO or device now: nothing to read
        os.close(fd)
        stats.skip("not a regular file", rel)
        return None
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > max_file_bytes:
            stats.skip("too large", rel, f"{st.st_size} bytes > maxFileBytes {max_file_bytes}")
            return None
        try:
            data = fh.read(max_file_bytes + 1)
        except OSError as exc:
            stats.skip("unreadable", rel, str(exc))
            return None
    if len(data) > max_file_bytes:
        stats.skip("too large", rel, f"grew past maxFileBytes {max_file_bytes} while read")
        return None
    if b"\0" in data[:8192]:
        stats.skip("binary (NUL bytes)", rel)
        return None
    text, encoding = decode_source(data)
    if encoding == "utf-8+replace":
        stats.replaced_utf8 += 1
        log.info("invalid UTF-8 in %s and no encoding fits: decoded with replacement", rel)
    elif encoding not in ("utf-8", "utf-8-sig"):
        log.debug("%s read as %s", rel, encoding)
    return text
