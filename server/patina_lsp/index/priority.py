"""The order in which files are embedded: what a user will search first, first.

Open files come first, then the files changed recently (git's working tree and recent commits
when the folder is in a git repository, else the newest modification times), then the other
files of those files' folders, then the rest in their planned order. A file opened while
indexing runs is moved to the front separately (WorkspaceIndex.prioritise).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)

RECENT_COMMITS = 50  # commits whose files count as recently changed
RECENT_BY_MTIME = 100  # without git: this many newest files
GIT_TIMEOUT_SECONDS = 5.0


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("git %s in %s: %s", args[0], root, exc)
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "surrogateescape")


def git_recent(root: Path) -> list[str] | None:
    """Root-relative paths changed in the working tree, then in the last RECENT_COMMITS commits, newest
    first; None when `root` is not inside a git work tree (or git is missing)."""
    prefix = _git(root, "rev-parse", "--show-prefix")
    if prefix is None:
        return None
    prefix = prefix.strip()
    out: list[str] = []
    status = _git(root, "status", "--porcelain", "-z", "--untracked-files=all", ".") or ""
    records = status.split("\0")
    i = 0
    while i < len(records):
        record = records[i]
        i += 1
        if len(record) < 4:
            continue
        out.append(record[3:])
        if record[0] in "RC":  # a rename or copy: the next record is the old name
            i += 1
    log_text = _git(root, "log", f"-{RECENT_COMMITS}", "--name-only", "--format=", "--no-renames", "--", ".") or ""
    out += [line for line in log_text.splitlines() if line]
    relative = []
    for path in out:
        if path.startswith(prefix):
            relative.append(path[len(prefix):])
    return list(dict.fromkeys(relative))


def embedding_order(root: Path, paths: list[str], mtimes: dict[str, int], open_paths: Iterable[str] = ()) -> list[str]:
    """`paths` (workspace-relative) sorted: open, recently changed, their folders, the rest (stable)."""
    wanted = set(paths)
    first = [p for p in dict.fromkeys(open_paths) if p in wanted]
    recent = git_recent(root)
    if recent is None:
        recent = sorted(paths, key=lambda p: -mtimes.get(p, 0))[:RECENT_BY_MTIME]
    recent = [p for p in recent if p in wanted]
    head = list(dict.fromkeys(first + recent))
    folders = {str(PurePosixPath(p).parent) for p in head}
    near = [p for p in paths if str(PurePosixPath(p).parent) in folders]
    return list(dict.fromkeys(head + near + paths))
