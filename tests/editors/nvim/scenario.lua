-- A headless Neovim session against the real Patina server; results go to $PATINA_RESULT as JSON.
local results = { notifications = {}, steps = {} }
local function record(key, value)
  results[key] = value
  table.insert(results.steps, key)
end

local original_notify = vim.notify
vim.notify = function(msg, level)
  table.insert(results.notifications, { msg = msg, level = level })
end

local function write_results()
  local f = assert(io.open(vim.env.PATINA_RESULT, "w"))
  f:write(vim.json.encode(results))
  f:close()
end

local function wait_for(what, timeout, check)
  local ok = vim.wait(timeout, check, 50)
  if not ok then
    error("timed out waiting for " .. what)
  end
end

-- version-neutral (the session's own calls must not fill `:checkhealth vim.deprecated` either)
local get_clients = vim.lsp.get_clients or vim.lsp.get_active_clients

local function qf_names(list)
  return vim.tbl_map(function(e) return e.text end, list)
end

local function run()
  local patina = require("patina")
  local cmd = vim.json.decode(vim.env.PATINA_CMD)
  local root = vim.env.PATINA_WORKSPACE

  if vim.env.PATINA_SCENARIO == "missing" then
    patina.setup({ cmd = { "patina-not-installed-anywhere", "lsp" } })
    vim.cmd("edit " .. root .. "/sample.py")
    vim.cmd("PatinaSearch! anything")
    record("done", true)
    return
  end

  patina.setup({ cmd = cmd, init_options = { cacheDir = vim.env.PATINA_CACHE } })
  vim.cmd("edit " .. root .. "/sample.py")
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for("the client to attach", 20000, function()
    return #get_clients({ bufnr = bufnr }) > 0
  end)
  record("attached", true)

  local status
  local statuslines = {}
  wait_for("status ready", 120000, function()
    local line = patina.status()
    if statuslines[#statuslines] ~= line then
      table.insert(statuslines, line)
    end
    local client = patina.client(bufnr)
    local response = client and patina.client_request_sync(client, "patina/status", vim.empty_dict(), 5000, bufnr)
    status = response and response.result
    return status ~= nil and status.state == "ready"
  end)
  record("status", status)
  record("statuslines_while_indexing", statuslines)
  record("phase_of", { patina.phase_of("lexical: 3/22 files"), patina.phase_of("semantic: 5/60 units, about 2 s left"),
                       patina.phase_of("60 units in 22 files") or vim.NIL })
  vim.wait(5000, function() return patina.status():match("^ready [%d,]+ units") ~= nil end, 50)
  record("statusline", patina.status())

  -- :PatinaSearch! fills the quickfix list
  vim.fn.setqflist({}, "r")
  vim.cmd("PatinaSearch! compute a checksum of a buffer")
  wait_for("quickfix results", 20000, function() return #vim.fn.getqflist() > 0 end)
  local qf = vim.fn.getqflist()
  record("search_qf", qf_names(qf))
  record("search_first_file", vim.api.nvim_buf_get_name(qf[1].bufnr))

  -- the live searcher behind the Telescope picker: answers come later (the call never waits), a query
  -- overtaken by the next one is cancelled and never answered, filters as in :PatinaSearch
  local searcher = require("patina.live").new(patina.client(bufnr), bufnr, { limit = 5 })
  local answers = {}
  searcher:query("render a template", function(items)
    table.insert(answers, { query = "first", names = vim.tbl_map(function(i) return i.name end, items) })
  end)
  searcher:query("lang:c compute a checksum of a buffer", function(items)
    table.insert(answers, { query = "second", names = vim.tbl_map(function(i) return i.name end, items),
      languages = vim.tbl_map(function(i) return i.language end, items) })
  end)
  local answered_at_once = #answers
  wait_for("the live answer", 20000, function() return #answers > 0 end)
  vim.wait(1000, function() return #answers > 1 end, 20) -- a stale answer would arrive by now
  searcher:close()
  record("live", { answered_at_once = answered_at_once, answers = answers })

  -- :PatinaRelated on TemplateRenderer.render (line 21, 1-based)
  vim.cmd("edit " .. root .. "/sample.py")
  vim.api.nvim_win_set_cursor(0, { 21, 8 })
  local win = vim.api.nvim_get_current_win()
  vim.fn.setloclist(win, {}, "r")
  vim.cmd("PatinaRelated")
  wait_for("location list results", 20000, function() return #vim.fn.getloclist(win) > 0 end)
  record("related_loclist", qf_names(vim.fn.getloclist(win)))

  -- workspace/symbol through the standard LSP request
  local responses = vim.lsp.buf_request_sync(bufnr, "workspace/symbol", { query = "greeting someone by name" }, 20000)
  local names = {}
  for _, response in pairs(responses or {}) do
    for _, symbol in ipairs(response.result or {}) do
      table.insert(names, symbol.name)
    end
  end
  record("workspace_symbol", names)

  -- an unsaved edit is found by search
  vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, {
    "", "", "def reticulate_splines(count):",
    '    """Reticulate splines for the terrain generator."""', "    return count * 3" })
  local found = {}
  wait_for("the unsaved edit to be searchable", 30000, function()
    local done = false
    patina.search("reticulate splines for terrain", { limit = 5, on_result = function(items)
      found = vim.tbl_map(function(i) return i.name end, items)
      done = true
    end })
    vim.wait(3000, function() return done end, 20)
    return vim.tbl_contains(found, "reticulate_splines")
  end)
  record("unsaved_search", found)
  record("modified", vim.bo[bufnr].modified)

  -- :PatinaRestart stops the server and starts a new one for the open buffers
  local before = patina.client(bufnr).id
  vim.cmd("PatinaRestart")
  wait_for("a new server after :PatinaRestart", 30000, function()
    local ids = vim.tbl_map(function(c) return c.id end, get_clients({ bufnr = bufnr }))
    return #ids == 1 and ids[1] ~= before
  end)
  record("restarted", true)

  -- setup() again with other options: the running server starts again with them; a server told not
  -- to index on startup reports its state at once (the statusline is never stuck on "starting")
  local previous = patina.client(bufnr).id
  patina.setup({ cmd = cmd, init_options = { cacheDir = vim.env.PATINA_CACHE, indexOnStartup = false } })
  wait_for("a new server after setup() with new options", 30000, function()
    local ids = vim.tbl_map(function(c) return c.id end, get_clients({ bufnr = bufnr }))
    return #ids == 1 and ids[1] ~= previous
  end)
  wait_for("a status other than starting", 20000, function() return patina.status() ~= "starting" end)
  record("status_after_resetup", patina.status())
  local outside = vim.api.nvim_create_buf(true, false) -- a file in no project: no server, no status
  vim.api.nvim_buf_set_name(outside, vim.fn.tempname() .. ".txt")
  record("status_elsewhere", patina.status(outside))
  vim.cmd("PatinaLog")
  record("log_buffer", vim.api.nvim_buf_get_name(0) == vim.lsp.get_log_path())
  vim.cmd("checkhealth patina")
  record("health", table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n"))
  record("done", true)
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  results.error = tostring(err)
end
vim.notify = original_notify
if vim.fn.has("nvim-0.10") == 1 then -- what this session called that the running Neovim deprecates
  vim.cmd("checkhealth vim.deprecated")
  local fh = assert(io.open(vim.env.PATINA_DEPRECATED, "w"))
  fh:write(table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n"))
  fh:close()
end
write_results()
vim.cmd(ok and "qa!" or "cq!")
