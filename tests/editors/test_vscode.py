"""The VS Code extension: lint and types, unit tests, the protocol test against the real server,
the packaged .vsix, and a real VS Code (code-server) driven by Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from editors.conftest import require

REPO = Path(__file__).resolve().parents[2]
EXT = REPO / "editors" / "vscode"
E2E = EXT / "e2e"
LANGS = REPO / "tests" / "fixtures" / "langs"
ARTIFACTS = REPO / "test-artifacts"
SERVER = json.dumps([sys.executable, "-m", "patina_lsp", "lsp"])


@pytest.fixture(autouse=True)
def node_modules():
    require(shutil.which("npm") is not None and (EXT / "node_modules").is_dir(),
            "editors/vscode/node_modules (npm ci in editors/vscode)")


def npm(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(["npm", "run", "--silent", *args], cwd=EXT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"npm run {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_lint_and_types():
    npm("lint")
    npm("typecheck")


def test_unit_tests():
    out = npm("test:unit").stdout
    assert "# fail 0" in out and "# pass" in out


def test_protocol_against_the_real_server(model_files):
    out = npm("test:protocol", env={"PATINA_SERVER": SERVER}, timeout=600).stdout
    assert "# fail 0" in out and "# pass 5" in out


@pytest.fixture(scope="module")
def vsix():
    done = subprocess.run(["npm", "run", "--silent", "package"], cwd=EXT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    path = EXT / "patina.vsix"
    assert path.is_file() and path.stat().st_size > 10_000
    return path


def test_package_builds_a_vsix(vsix):
    import zipfile

    names = zipfile.ZipFile(vsix).namelist()
    assert "extension/dist/extension.js" in names and "extension/package.json" in names
    assert "extension/changelog.md" in names and "extension/images/icon.png" in names  # vsce lowercases it


def code_server(vsix: Path, workspace: Path, *args: str) -> dict:
    """Run e2e/run.mjs (a real VS Code driven by Chromium) and return its report."""
    require((E2E / "node_modules" / ".bin" / "code-server").exists(), "code-server (editors/vscode/e2e/install.sh)")
    require(Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")).exists(), "chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    done = subprocess.run(["node", "run.mjs", "--vsix", str(vsix), "--workspace", str(workspace), *args],
                          cwd=E2E, capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and report.get("ok"), f"{report}\n{done.stderr[-3000:]}"
    return report


def test_real_vscode_search_escape_and_open(vsix, tmp_path, model_files):
    workspace = tmp_path / "ws"
    shutil.copytree(LANGS, workspace)
    shot = ARTIFACTS / "vscode-semantic-search.png"
    report = code_server(vsix, workspace, "--server", SERVER, "--query", "compute a checksum of a buffer",
                         "--expect", "checksum", "--expect-file", "a.c", "--escape-from", "sample.py",
                         "--screenshot", str(shot))
    # Escape after a result was previewed returns to the file the user was in
    assert report["previewTab"] != "sample.py" and report["afterEscape"] == "sample.py"
    assert report["installed"] == ["patina.patina-0.1.0"]
    assert report["statusBar"].startswith("Patina:") and "units" in report["statusBar"]
    assert report["firstRow"].startswith("checksum")
    assert report["activeTab"] == "a.c"
    assert shot.is_file()


def test_real_vscode_failed_start_shows_one_message(vsix, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(LANGS, workspace)
    failing = json.dumps([sys.executable, "-c", "import sys; sys.exit(3)"])
    report = code_server(vsix, workspace, "--scenario", "failed-start", "--server", failing,
                         "--screenshot", str(ARTIFACTS / "vscode-failed-start.png"))
    assert len([t for t in report["notifications"] if "patina" in t.lower()]) == 1, report["notifications"]
    assert "Patina" in report["statusBar"]


def test_real_vscode_window_without_folder_starts_no_server(vsix, tmp_path):
    marker = tmp_path / "server-started"
    spy = json.dumps([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('started')"])
    report = code_server(vsix, tmp_path, "--scenario", "no-folder", "--server", spy, "--marker", str(marker))
    assert report["serverStarted"] is False and not marker.exists()
