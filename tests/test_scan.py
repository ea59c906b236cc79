"""Walking a workspace: git's ignore rules, default excludes, and bad input counted, never fatal."""

from __future__ import annotations

import os

from patina_lsp.index.scan import ScanStats, read_text, walk


def write(root, rel, data="x = 1\n"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def paths(root, **kw):
    return {e.path for e in walk(root, **kw)}


def test_gitignore_at_every_level_and_info_exclude(tmp_path):
    write(tmp_path, ".gitignore", "*.log\n/build-out/\n")
    write(tmp_path, "src/.gitignore", "generated.py\n!keep.log\n")
    write(tmp_path, ".git/info/exclude", "secret.py\n")
    write(tmp_path, ".git/config", "[core]\n")
    for rel in ("a.py", "app.log", "build-out/x.py", "src/generated.py", "src/b.py", "src/keep.log",
                "secret.py", "deep/secret.py", "node_modules/lib/index.js", ".venv/lib/x.py", "dist/x.js"):
        write(tmp_path, rel)
    assert paths(tmp_path) == {".gitignore", "a.py", "src/.gitignore", "src/b.py", "src/keep.log"}


def test_user_excludes(tmp_path):
    for rel in ("a.py", "vendor/b.py", "tests/c_test.py"):
        write(tmp_path, rel)
    assert paths(tmp_path, exclude=["vendor/", "*_test.py"]) == {"a.py"}


def test_bad_input_is_skipped_and_counted(tmp_path):
    write(tmp_path, "ok.py")
    write(tmp_path, "big.py", "x" * 2000)
    write(tmp_path, "image.png", b"\x89PNG")
    write(tmp_path, "blob.dat", b"abc\x00def")
    write(tmp_path, "latin.py", b"name = '\xe9t\xe9'\n")
    os.symlink(tmp_path, tmp_path / "loop")
    os.symlink("/etc", tmp_path / "outside")
    stats = ScanStats()
    found = paths(tmp_path, max_file_bytes=1000, stats=stats)
    assert found == {"ok.py", "blob.dat", "latin.py"}
    assert stats.skipped["too large"] == 1
    assert stats.skipped["binary file type"] == 1
    assert stats.skipped["symlink outside the workspace"] == 1
    assert stats.skipped["symlinked folder"] == 1
    assert read_text(tmp_path, "blob.dat", stats) is None
    assert stats.skipped["binary (NUL bytes)"] == 1
    # not UTF-8: read in the encoding that fits (index/encoding.py), not with replacement characters
    assert read_text(tmp_path, "latin.py", stats) == "name = '\u00e9t\u00e9'\n"
    assert stats.replaced_utf8 == 0


def test_unreadable_files_and_folders(tmp_path):
    if os.geteuid() == 0:
        # root reads everything: make the folder unreadable by removing it mid-walk instead
        write(tmp_path, "a.py")
        write(tmp_path, "gone/b.py")
        stats = ScanStats()
        walker = walk(tmp_path, stats=stats)
        first = next(walker)
        import shutil

        shutil.rmtree(tmp_path / "gone")
        rest = list(walker)
        assert {first.path} | {e.path for e in rest} == {"a.py"}
        assert stats.skipped["unreadable"] + stats.skipped["unreadable folder"] == 1
    else:
        write(tmp_path, "locked/a.py")
        os.chmod(tmp_path / "locked", 0)
        stats = ScanStats()
        try:
            assert paths(tmp_path, stats=stats) == set()
        finally:
            os.chmod(tmp_path / "locked", 0o755)
        assert stats.skipped["unreadable folder"] == 1
