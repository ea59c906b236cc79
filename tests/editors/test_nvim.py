"""The Neovim plugin in a real headless Neovim against the real Patina server.

Every test runs on each Neovim found: `nvim` on PATH (Debian's 0.7.2 in CI, the oldest the plugin
supports) and those named in $PATINA_NVIM (paths, os.pathsep-separated; .ci/run installs 0.11 there).
On 0.10 and later each session ends with `:checkhealth vim.deprecated`, which must find nothing.
"""

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
HERE = Path(__file__).parent / "nvim"
LANGS = REPO / "tests" / "fixtures" / "langs"

CLEAN = "No deprecated functions detected"


def neovims() -> list[str]:
    """The Neovims to test on: the one on PATH and those in $PATINA_NVIM."""
    found = [shutil.which("nvim") or ""] + os.environ.get("PATINA_NVIM", "").split(os.pathsep)
    return list(dict.fromkeys(p for p in found if p))


def version_of(binary: str) -> str:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "unrunnable"
    return done.stdout.split("\n", 1)[0].removeprefix("NVIM ").strip() or "unrunnable"


VERSIONS = {binary: version_of(binary) for binary in neovims()}


@pytest.fixture(params=list(VERSIONS) or [None], ids=lambda b: f"nvim-{VERSIONS[b]}" if b else "no-nvim")
def nvim(request) -> str:
    require(request.param is not None, "nvim")
    assert VERSIONS[request.param] != "unrunnable", f"{request.param} does not run"
    return request.param


DEPRECATIONS = """
if vim.fn.has("nvim-0.10") == 1 then
  vim.cmd("checkhealth vim.deprecated")
  local fh = io.open([[{out}]], "w")
  fh:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\\n"))
  fh:close()
end
"""


def run_script(nvim: str, tmp_path: Path, lua: str, env: dict | None = None, rtp: bool = True,
               init: Path | str = "NONE") -> None:
    """Run a Lua script in a headless Neovim (the plugin on the runtimepath unless rtp=False; `init`
    as -u), then check that nothing it called is deprecated in this Neovim."""
    script = tmp_path / "script.lua"
    report = tmp_path / "deprecated.txt"
    script.write_text(lua + DEPRECATIONS.format(out=report))
    args = [nvim, "--headless", "-n", "-u", str(init)]
    if rtp:
        args += ["-c", f"set rtp+={REPO / 'editors' / 'nvim'}"]
    subprocess.run([*args, "-c", f"luafile {script}", "-c", "qa!"], timeout=60, capture_output=True,
                   cwd=tmp_path, env=env)
    assert_not_deprecated(nvim, report)


def minor_version(nvim: str) -> tuple[int, int]:
    return tuple(int(n) for n in re.findall(r"\d+", VERSIONS[nvim])[:2])  # type: ignore[return-value]


def assert_not_deprecated(nvim: str, report: Path) -> None:
    """On Neovim 0.10 and later the session's `:checkhealth vim.deprecated` report must be there, clean."""
    if minor_version(nvim) >= (0, 10):
        assert report.is_file(), "the session ended before its deprecation report"
        text = report.read_text()
        assert CLEAN in text, text


def run_nvim(nvim: str, tmp_path, scenario: str, timeout: int = 240) -> dict:
    workspace = tmp_path / "ws"
    shutil.copytree(LANGS, workspace)
    (workspace / ".git").mkdir()  # a root marker
    result = tmp_path / "result.json"
    env = {**os.environ, "PATINA_PLUGIN": str(REPO / "editors" / "nvim"), "PATINA_RESULT": str(result),
           "PATINA_WORKSPACE": str(workspace), "PATINA_CACHE": str(tmp_path / "cache"),
           "PATINA_SCENARIO": scenario, "PATINA_DEPRECATED": str(tmp_path / "deprecated.txt"),
           "PATINA_CMD": json.dumps([sys.executable, "-m", "patina_lsp", "lsp"]),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run([nvim, "--headless", "-n", "-u", str(HERE / "minimal_init.lua"),
                           "-c", f"luafile {HERE / 'scenario.lua'}"],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=workspace)
    assert result.is_file(), f"nvim wrote no results (exit {done.returncode}): {done.stderr[-2000:]}"
    data = json.loads(result.read_text())
    assert "error" not in data, data["error"]
    assert done.returncode == 0, done.stderr[-2000:]
    assert_not_deprecated(nvim, tmp_path / "deprecated.txt")
    return data


def test_semantic_search_related_symbols_and_live_edits(nvim, tmp_path, model_files):
    data = run_nvim(nvim, tmp_path, "full")
    assert data["attached"] is True
    assert data["status"]["state"] == "ready" and data["status"]["units"] > 20
    assert data["statusline"] == f"ready {data['status']['units']:,} units"
    assert data["phase_of"] == ["lexical", "semantic", None]
    indexing = [line for line in data["statuslines_while_indexing"] if line.startswith("indexing")]
    # "indexing 0%" at the start (the model loading), then the phases: "indexing 30% (semantic)"; on this
    # small fixture the semantic phase can end between two polls, so one phase seen is enough
    assert any(line.endswith(("% (lexical)", "% (semantic)")) for line in indexing), indexing
    assert all(line == "indexing 0%" or line.endswith(("% (lexical)", "% (semantic)")) for line in indexing), indexing
    assert data["search_qf"][0].startswith("checksum [function]")
    assert data["search_first_file"].endswith("/a.c")
    live = data["live"]
    assert live["answered_at_once"] == 0  # asynchronous: the picker never waits for the server
    assert [a["query"] for a in live["answers"]] == ["second"], live  # the overtaken query is never answered
    assert live["answers"][0]["names"][0] == "checksum" and set(live["answers"][0]["languages"]) == {"c"}, live
    related = data["related_loclist"]
    assert any(text.startswith("TemplateRenderer.render_async") for text in related), related
    assert not any(text.startswith("TemplateRenderer.render [") for text in related)  # not itself
    assert "greet" in data["workspace_symbol"][:5]
    assert "reticulate_splines" in data["unsaved_search"]
    assert data["modified"] is True  # searched without saving
    assert data["restarted"] is True and data["log_buffer"] is True
    # setup() with new options restarted the server; without indexing on startup it is ready at once
    assert data["status_after_resetup"].startswith("ready"), data["status_after_resetup"]
    assert data["status_elsewhere"] == ""  # the status is the buffer's own server's
    health = data["health"]
    assert "0.7 or later needed" in health and "server for " in health and " units" in health, health


def test_missing_server_gives_a_clear_message(nvim, tmp_path, model_files):
    data = run_nvim(nvim, tmp_path, "missing", timeout=60)
    messages = [n["msg"] for n in data["notifications"]]
    assert any("patina-not-installed-anywhere" in m and "not found" in m and "pip install" in m for m in messages), messages
    assert not any("stack traceback" in m or "E5108" in m for m in messages)


def test_checkhealth(nvim, tmp_path, model_files):
    report = tmp_path / "health.txt"
    run_script(nvim, tmp_path, f"""
      require('patina').setup({{ cmd = {{ 'patina', 'lsp' }} }})
      vim.cmd('checkhealth patina')
      vim.cmd('w! {report}')
    """, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    text = re.sub(r"^- (✅ )?OK ", "OK: ", report.read_text(), flags=re.M)  # 0.10 and later: "- ✅ OK x"
    assert "OK: server command: patina lsp" in text
    assert "OK: patina " in text
    assert "OK: int8 model file" in text and "ERROR" not in text


def test_roots_come_from_markers_and_never_default_to_home(nvim, tmp_path, model_files):
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # a dotfiles repository in the home directory
    (home / ".bashrc").write_text("export EDITOR=nvim\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "config").write_text("Host *\n")
    project = home / "src" / "app"
    (project / ".git").mkdir(parents=True)
    (project / "main.py").write_text("def main():\n    pass\n")
    (project / "tools").mkdir()
    (project / "tools" / "Makefile").write_text("all:\n")
    (project / "tools" / "gen.py").write_text("x = 1\n")
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "notes.py").write_text("x = 1\n")
    out = tmp_path / "roots.json"
    lua = f"""
      local patina = require('patina')
      patina.setup({{ cmd = {{ 'patina-not-started-in-this-test' }} }})
      local r = {{
        bashrc = patina.find_root('{home}/.bashrc') or vim.NIL,
        ssh = patina.find_root('{home}/.ssh/config') or vim.NIL,
        loose = patina.find_root('{loose}/notes.py') or vim.NIL,
        project = patina.find_root('{project}/main.py') or vim.NIL,
        subfolder = patina.find_root('{project}/tools/gen.py') or vim.NIL,
      }}
      patina.setup({{ cmd = {{ 'patina-not-started-in-this-test' }}, prefer_vcs_root = false }})
      r.nearest = patina.find_root('{project}/tools/gen.py') or vim.NIL
      vim.cmd('edit {home}/.ssh/config')
      r.attached_ssh = patina.attach(0) or vim.NIL
      patina.setup({{ cmd = {{ 'patina-not-started-in-this-test' }}, allowed_roots = {{ '~' }} }})
      r.allowed = patina.find_root('{home}/.bashrc') or vim.NIL
      local fh = io.open('{out}', 'w'); fh:write(vim.fn.json_encode(r)); fh:close()
    """
    run_script(nvim, tmp_path, lua, env={**os.environ, "HOME": str(home)})
    roots = json.loads(out.read_text())
    assert roots["bashrc"] is None and roots["ssh"] is None and roots["attached_ssh"] is None
    assert roots["loose"] is None
    assert roots["project"] == str(project)
    assert roots["subfolder"] == str(project)  # the repository, not the Makefile's folder
    assert roots["nearest"] == str(project / "tools")
    assert roots["allowed"] == str(home)


def test_positions_convert_between_utf16_and_bytes(nvim, tmp_path, model_files):
    src = tmp_path / "shapes.js"
    line = 'const s = "naïve 😀 日本"; function área() {}'
    src.write_text(line + "\n", encoding="utf-8")
    utf16 = line.encode("utf-16-le").index("área".encode("utf-16-le")) // 2  # what the server sends
    byte = line.encode("utf-8").index("área".encode("utf-8"))  # what Neovim uses
    assert utf16 != byte
    out = tmp_path / "cols.json"
    run_script(nvim, tmp_path, f"""
      local patina = require('patina')
      local item = {{ uri = vim.uri_from_fname('{src}'), name = 'área', kind = 'function',
        range = {{ start = {{ line = 0, character = {utf16} }} }},
        selectionRange = {{ start = {{ line = 0, character = {utf16} }} }} }}
      local r = {{ qf_col = patina.to_qf(item).col, item_col = patina.item_col(item) }}
      patina.jump(item)
      r.cursor = vim.api.nvim_win_get_cursor(0)[2]
      r.back = patina.utf16_col(vim.api.nvim_get_current_line(), r.cursor)
      local fh = io.open('{out}', 'w'); fh:write(vim.fn.json_encode(r)); fh:close()
    """)
    cols = json.loads(out.read_text())
    assert cols == {"qf_col": byte + 1, "item_col": byte, "cursor": byte, "back": utf16}, cols


def documented_lazy_spec(clone: Path) -> str:
    """The lazy.nvim spec of `:help patina-install`, for a clone at `clone` (lazy.nvim's `dir`)."""
    doc = (REPO / "editors" / "nvim" / "doc" / "patina.txt").read_text()
    spec = doc.split("lazy.nvim (it cannot install a subfolder itself):\n>lua\n", 1)[1].split("\n<\n", 1)[0]
    assert spec.count('"patina-lsp/patina",') == 1 and spec.count('require("patina").setup({})') == 1, spec
    return (spec.replace('"patina-lsp/patina",', f'dir = [[{clone}]],')  # the clone lazy.nvim would make
            .replace('require("patina").setup({})', "require('patina').setup({ cmd = { 'patina-not-started' } })"))


def test_the_lazy_nvim_install_path_loads_the_plugin_and_its_help(nvim, tmp_path, model_files):
    """The documented lazy.nvim spec, run by the real lazy.nvim ($PATINA_LAZY_NVIM; .ci/run installs
    it) on Neovim 0.8 and later; on older ones (lazy.nvim needs 0.8) its config function alone."""
    clone = tmp_path / "lazy" / "patina"  # lazy.nvim clones the whole repository
    shutil.copytree(REPO / "editors" / "nvim", clone / "editors" / "nvim")  # (the rest of a clone is not read)
    out = tmp_path / "lazy.json"
    check = f"""
      local ok = pcall(vim.cmd, "help patina") and pcall(vim.cmd, "help patina-options")
      local r = {{ help = ok and vim.fn.expand('%:t') or vim.NIL,
                   commands = vim.fn.exists(':PatinaSearch') == 2 }}
      local fh = io.open('{out}', 'w'); fh:write(vim.fn.json_encode(r)); fh:close()
    """
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    if minor_version(nvim) < (0, 8):
        run_script(nvim, tmp_path, f"""
          local plugin = {{ dir = '{clone}' }}
          vim.opt.rtp:append(plugin.dir .. "/editors/nvim")
          vim.cmd("silent! helptags " .. plugin.dir .. "/editors/nvim/doc")
          require("patina").setup({{ cmd = {{ 'patina-not-started-in-this-test' }} }})
        """ + check, rtp=False, env=env)
    else:
        lazy = os.environ.get("PATINA_LAZY_NVIM", "")
        require(bool(lazy) and (Path(lazy) / "lua" / "lazy" / "init.lua").is_file(), "lazy.nvim ($PATINA_LAZY_NVIM)")
        init = tmp_path / "init.lua"  # a user's init.lua with lazy.nvim and the documented spec
        init.write_text(f"""
          vim.opt.rtp:prepend([[{lazy}]])
          require("lazy").setup({{ {documented_lazy_spec(clone)} }}, {{
            root = [[{tmp_path / "lazy-root"}]], lockfile = [[{tmp_path / "lazy-lock.json"}]],
            install = {{ missing = false }}, checker = {{ enabled = false }},
            change_detection = {{ enabled = false }}, rocks = {{ enabled = false }} }})
        """)
        run_script(nvim, tmp_path, check, rtp=False, env=env, init=init)
    result = json.loads(out.read_text())
    assert result == {"help": "patina.txt", "commands": True}, result


def test_search_filters_parse_as_in_vs_code_and_complete(nvim, tmp_path, model_files):
    out = tmp_path / "query.json"
    run_script(nvim, tmp_path, f"""
      local patina = require('patina')
      local text, filters = patina.parse_query('lang:py,RS kind:function parse   http lang:python headers')
      local r = {{ text = text, languages = filters.languages, kinds = filters.kinds,
                   plain = select(2, patina.parse_query('just words')).languages or vim.NIL,
                   complete = patina.complete('kind:c') }}
      local fh = io.open('{out}', 'w'); fh:write(vim.fn.json_encode(r)); fh:close()
    """)
    result = json.loads(out.read_text())
    assert result == {"text": "parse http headers", "languages": ["python", "rust"], "kinds": ["function"],
                      "plain": None, "complete": ["kind:class", "kind:comment"]}, result


def test_every_lua_file_compiles(nvim, tmp_path, model_files):
    """Each file of the plugin compiles in this Neovim's LuaJIT, the Telescope extension included
    (telescope.nvim itself cannot be installed here, so that file is otherwise never run)."""
    files = sorted((REPO / "editors" / "nvim").rglob("*.lua"))
    assert any(f.parts[-3:] == ("telescope", "_extensions", "patina.lua") for f in files)
    out = tmp_path / "compiled.json"
    run_script(nvim, tmp_path, f"""
      local r = {{}}
      for _, path in ipairs(vim.fn.json_decode([==[{json.dumps([str(f) for f in files])}]==])) do
        local chunk, err = loadfile(path)
        r[path] = chunk and "ok" or err
      end
      local fh = io.open('{out}', 'w'); fh:write(vim.fn.json_encode(r)); fh:close()
    """)
    assert json.loads(out.read_text()) == {str(f): "ok" for f in files}
