-- :checkhealth patina
local M = {}

local health = vim.health or require("health")
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local start = health.start or health.report_start
local info = health.info or health.report_info

function M.check()
  start("Patina")
  local v = vim.version()
  local api = vim.lsp.start and "vim.lsp.start" or "vim.lsp.start_client"
  if v.major == 0 and v.minor < 7 then
    error(("Neovim %d.%d.%d: Patina needs 0.7 or later"):format(v.major, v.minor, v.patch))
    return
  end
  ok(("Neovim %d.%d.%d (0.7 or later needed; %s API)"):format(v.major, v.minor, v.patch, api))
  local patina = require("patina")
  local running = 0
  for root, id in pairs(patina.clients()) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      running = running + 1
      local response = patina.client_request_sync(client, "patina/status", vim.empty_dict(), 2000)
      local s = response and response.result
      if s then
        local line = ("server for %s: %s, %s files, %s units"):format(root, s.state, s.files, s.units)
        ok(s.message and (line .. " (" .. s.message .. ")") or line)
      else
        warn(("server for %s: no answer to patina/status"):format(root))
      end
    end
  end
  if running == 0 then
    info("no Patina server running (one starts when a file inside a project is opened)")
  end
  local config = require("patina").config
  local exe = config.cmd[1]
  if vim.fn.executable(exe) == 0 then
    error(("server command %q not found"):format(exe), { "pip install patina-lsp", "or set cmd in require('patina').setup{}" })
    return
  end
  ok(("server command: %s"):format(table.concat(config.cmd, " ")))
  local base = vim.deepcopy(config.cmd)
  -- `patina lsp` -> `patina --version` / `patina models info --json`
  if base[#base] == "lsp" then
    table.remove(base)
  end
  local version = vim.fn.system(vim.list_extend(vim.deepcopy(base), { "--version" }))
  if vim.v.shell_error == 0 then
    ok(vim.trim(version))
  else
    error("the server does not start: " .. vim.trim(version))
    return
  end
  local out = vim.fn.system(vim.list_extend(vim.deepcopy(base), { "models", "info", "--json" }))
  local okjson, files = pcall(vim.json.decode, out)
  if vim.v.shell_error ~= 0 or not okjson then
    warn("could not read the model locations: " .. vim.trim(out))
    return
  end
  local model = config.model or (vim.env.PATINA_MODEL or "int8")
  for _, key in ipairs({ model, "tokenizer" }) do
    if files[key] and (vim.uv or vim.loop).fs_stat(files[key]) then
      ok(("%s model file: %s"):format(key, files[key]))
    else
      warn(("%s model file missing: %s"):format(key, tostring(files[key])),
        { "it is built on first use, or run `patina models fetch --model " .. model .. "`" })
    end
  end
end

return M
