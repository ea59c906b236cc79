"""The VS Code extension: lint and types, unit tests, the protocol test against the real server,
the packaged .vsix, and a real VS Code (code-server) driven by Chromium."""

from __future__ import annotations

import json
import os
import re
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


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    """Module-scoped, so it runs before the module-scoped `vsix` (which needs npm) and skips it too."""
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


def test_real_vscode_crash_search_escape_and_open(vsix, tmp_path, model_files):
    workspace = tmp_path / "ws"
    shutil.copytree(LANGS, workspace)
    shot = ARTIFACTS / "vscode-semantic-search.png"
    log = tmp_path / "patina-server-under-test.log"  # names this test's server for pkill
    server = json.dumps([sys.executable, "-m", "patina_lsp", "lsp", "--log-file", str(log)])
    report = code_server(vsix, workspace, "--server", server, "--query", "compute a checksum of a buffer",
                         "--expect", "checksum", "--expect-file", "a.c", "--escape-from", "sample.py",
                         # a regex for the server's command line only: run.mjs gets the command as JSON,
                         # and "[p]" keeps the pattern from matching run.mjs's own arguments
                         "--crash-match", f"[p]atina_lsp lsp --log-file {log}", "--screenshot", str(shot))
    # a server killed under the client: a new one, and the status bar says ready again (not "stopped")
    assert report["restartedServer"] and report["statusAfterCrash"].startswith("Patina:")
    assert "units" in report["statusAfterCrash"]
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


# VS Code's key codes (src/vs/base/common/keyCodes.ts): modifiers are bits, a chord is first | second << 16
_MODS = {"ctrl": 2048, "cmd": 2048, "shift": 1024, "alt": 512}
_KEYS = {**{chr(c): 31 + c - ord("a") for c in range(ord("a"), ord("z") + 1)},
         **{str(d): 21 + d for d in range(10)}}


def _encode(press: str) -> int:
    *mods, key = press.split("+")
    return sum(_MODS[m] for m in mods) | _KEYS[key]


def _default_bindings() -> tuple[str, list[str]]:
    """The built workbench's source (its keybindings are numbers) and the built-in extensions' keys."""
    vscode = E2E / "node_modules" / "code-server" / "lib" / "vscode"
    require((vscode / "out").is_dir(), "code-server (editors/vscode/e2e/install.sh)")
    workbench = "".join(p.read_text(errors="replace") for p in (vscode / "out").rglob("workbench*.js"))
    keys = []
    for manifest in (vscode / "extensions").glob("*/package.json"):
        for binding in json.loads(manifest.read_text()).get("contributes", {}).get("keybindings", []) or []:
            keys += [binding.get(k, "") for k in ("key", "mac", "win", "linux")]
    return workbench, [k.lower() for k in keys if k]


def _taken(workbench: str, extension_keys: list[str], binding: str) -> bool:
    presses = binding.lower().split()
    if binding.lower() in extension_keys:
        return True
    if len(presses) == 1:
        return re.search(rf"(?:primary|secondary):\[?(?:[\d,]*,)?{_encode(presses[0])}\b", workbench) is not None
    return re.search(rf"\w+\({_encode(presses[0])},{_encode(presses[1])}\)", workbench) is not None


def test_the_search_keybinding_is_free_in_vs_codes_defaults():
    """Checked against the default keybindings of the VS Code that code-server ships."""
    workbench, extension_keys = _default_bindings()
    # the check finds a clash where there is one: Cmd+Alt+P is the editor's Toggle Preserve Case
    assert _taken(workbench, extension_keys, "cmd+alt+p")
    assert _taken(workbench, extension_keys, "ctrl+k ctrl+s") and _taken(workbench, extension_keys, "ctrl+k v")
    manifest = json.loads((EXT / "package.json").read_text())
    (binding,) = [b for b in manifest["contributes"]["keybindings"] if b["command"] == "patina.semanticSearch"]
    for platform in ("key", "mac"):
        assert not _taken(workbench, extension_keys, binding[platform]), binding[platform]


def test_real_vscode_indexing_notification_cancel_pauses_the_server(vsix, tmp_path, model_files):
    """VS Code's own progress notification shows a long indexing run; its Cancel button pauses it."""
    workspace = tmp_path / "big"
    for i in range(300):  # about 3,000 units: minutes of embedding on two cores
        funcs = "\n\n".join(f"def step_{i}_{j}(value):\n    \"\"\"Stage {j} of pipeline {i}: scale by {j}.\"\"\"\n"
                            f"    return value * {j} + {i}\n" for j in range(10))
        (workspace / f"pkg{i // 50}").mkdir(parents=True, exist_ok=True)
        (workspace / f"pkg{i // 50}" / f"mod_{i}.py").write_text(funcs + "\n")
    log = tmp_path / "server.log"
    server = json.dumps([sys.executable, "-m", "patina_lsp", "lsp", "--log-file", str(log)])
    report = code_server(vsix, workspace, "--scenario", "cancel", "--server", server,
                         "--screenshot", str(ARTIFACTS / "vscode-indexing-notification.png"))
    assert "Patina: indexing" in report["notification"], report
    assert report["statusBar"].startswith("Patina:") and "units" in report["statusBar"]
    assert "indexing paused" in log.read_text()
