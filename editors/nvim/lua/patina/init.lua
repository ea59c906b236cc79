-- Patina for Neovim: semantic search and related code from the Patina language server.
-- Works on Neovim 0.7 (vim.lsp.start_client) and uses vim.lsp.start where it exists.
local protocol = require("patina.protocol")

local M = {}
local uv = vim.uv or vim.loop
local method_calls = vim.fn.has("nvim-0.11") == 1 -- client:request(); client.request() is deprecated there

--- client:name(...) on Neovim 0.11+, client.name(...) before (the dot-call is deprecated there).
local function call(client, name, ...)
  if method_calls then
    return client[name](client, ...)
  end
  return client[name](...)
end

function M.client_request(client, method, params, handler, bufnr)
  return call(client, "request", method, params, handler, bufnr)
end

function M.client_request_sync(client, method, params, timeout_ms, bufnr)
  return call(client, "request_sync", method, params, timeout_ms, bufnr)
end

function M.client_cancel_request(client, id)
  return call(client, "cancel_request", id)
end

local defaults = {
  cmd = { "patina", "lsp" },
  root_markers = { ".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml", "pom.xml",
    "build.gradle", "Gemfile", "Makefile", ".hg" },
  -- folders allowed as a root although they are your home directory or / (never by default: a
  -- marker there would make Patina index everything below it, ~/.ssh included)
  allowed_roots = {},
  -- the outermost repository (a folder with one of vcs_markers) wins over nearer markers, so a
  -- Makefile in a subfolder does not make a second workspace; false: the nearest marker wins
  prefer_vcs_root = true,
  vcs_markers = { [".git"] = true, [".hg"] = true, [".svn"] = true },
  model = nil, -- "int8" (server default), "fp32", or "code" / "code-fp32" for code with few docs
  exclude = nil, -- list of gitignore-style globs
  init_options = {}, -- passed through to the server
  limit = 50,
  keys = false, -- true: <leader>ps search, <leader>pr related
}

M.config = vim.deepcopy(defaults)
local clients = {} -- root -> client id
local progress = {} -- client id -> { percentage, message, phase, done }
local statuses = {} -- client id -> the last patina/status answer
local notified = {}

local function notify(msg, level, once_key)
  if once_key then
    if notified[once_key] then
      return
    end
    notified[once_key] = true
  end
  vim.notify("Patina: " .. msg, level or vim.log.levels.INFO)
end

local function is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "directory"
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function normalize(path)
  return (vim.fn.fnamemodify(vim.fn.expand(path), ":p"):gsub("/$", ""))
end

local function allowed_as_root(dir)
  local home = uv.os_homedir()
  if dir ~= "" and dir ~= "/" and (home == nil or dir ~= normalize(home)) then
    return true
  end
  for _, allowed in ipairs(M.config.allowed_roots) do
    if normalize(allowed) == dir then
      return true
    end
  end
  return false
end

--- The workspace root of a file: the nearest folder upwards holding a root marker; nil when there
--- is none, or when it is the home directory or / (unless listed in `allowed_roots`).
function M.find_root(path)
  local dir = is_dir(path) and path or vim.fn.fnamemodify(path, ":h")
  local current = normalize(dir)
  local nearest, outermost_vcs = nil, nil
  while current and current ~= "" do
    if allowed_as_root(current) then
      for _, marker in ipairs(M.config.root_markers) do
        if exists(current .. "/" .. marker) then
          nearest = nearest or current
          if M.config.vcs_markers[marker] then
            outermost_vcs = current
          end
        end
      end
    elseif nearest == nil and outermost_vcs == nil then
      -- home or /, not allowed: a marker there must not make everything below it a workspace
      for _, marker in ipairs(M.config.root_markers) do
        if exists(current .. "/" .. marker) then
          return nil
        end
      end
    end
    local parent = vim.fn.fnamemodify(current, ":h")
    if parent == current then
      break
    end
    current = parent
  end
  if M.config.prefer_vcs_root and outermost_vcs then
    return outermost_vcs -- one workspace per repository, not one per Makefile inside it
  end
  return nearest
end

local function init_options()
  local opts = vim.deepcopy(M.config.init_options or {})
  if M.config.model then
    opts.model = M.config.model
  end
  if M.config.exclude then
    opts.exclude = M.config.exclude
  end
  if next(opts) == nil then
    return vim.empty_dict()
  end
  return opts
end

local redraw_pending = false

--- Redraw statuslines (at most every 200 ms) so that M.status() shown there follows the index.
local function redraw_soon()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.defer_fn(function()
    redraw_pending = false
    pcall(vim.cmd, "redrawstatus!")
  end, 200)
end

--- Ask a client for patina/status and keep the answer for M.status().
local function fetch_status(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if client then
    M.client_request(client, protocol.STATUS, vim.empty_dict(), function(e, s)
      if not e and type(s) == "table" then
        statuses[client_id] = s
        M._last_status = s
        redraw_soon()
      end
    end)
  end
end

local function progress_handler(err, result, ctx, config)
  local value = result and result.value
  if type(value) == "table" and type(result.token) == "string" and result.token:match("^patina%-index") then
    local state = progress[ctx.client_id] or {}
    if value.kind == "begin" or value.kind == "report" then
      state.percentage = value.percentage or state.percentage
      state.message = value.message or state.message
      state.phase = M.phase_of(value.message) or state.phase
      state.done = false
    elseif value.kind == "end" then
      state.done = true
      state.message = value.message
      vim.schedule(function()
        fetch_status(ctx.client_id)
      end)
    end
    progress[ctx.client_id] = state
    redraw_soon()
  end
end

local function wrap_progress()
  local default = vim.lsp.handlers["$/progress"]
  if M._progress_wrapped then
    return
  end
  M._progress_wrapped = true
  vim.lsp.handlers["$/progress"] = function(err, result, ctx, config)
    pcall(progress_handler, err, result, ctx, config)
    if default then
      return default(err, result, ctx, config)
    end
  end
end

local function client_config(root)
  return {
    name = "patina",
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = init_options(),
    -- the first status: a server that does not index on startup is "ready" at once, never "starting"
    on_init = function(client)
      vim.schedule(function()
        fetch_status(client.id)
      end)
    end,
    on_exit = function(code, signal, client_id)
      for r, id in pairs(clients) do
        if id == client_id then
          clients[r] = nil
        end
      end
      progress[client_id], statuses[client_id] = nil, nil
      vim.schedule(redraw_soon)
      if code ~= 0 then
        vim.schedule(function()
          notify(("the server exited with code %d (signal %d); run :PatinaStatus after reopening a file, "
            .. "or :LspLog for details"):format(code, signal or 0), vim.log.levels.ERROR)
        end)
      end
    end,
  }
end

local function server_missing()
  local exe = M.config.cmd and M.config.cmd[1]
  if type(exe) ~= "string" or vim.fn.executable(exe) == 0 then
    notify(("server command %q not found. Install Patina (pip install patina-lsp) or set `cmd` in "
      .. "require('patina').setup{}"):format(tostring(exe)), vim.log.levels.ERROR, "missing")
    return true
  end
  return false
end

--- Start (or reuse) the server for the root of `bufnr` and attach it. Returns the client id or nil.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local root = M.find_root(name)
  if not root then
    return nil -- not inside a project: no server (see root_markers, allowed_roots)
  end
  local id = clients[root]
  if id and vim.lsp.get_client_by_id(id) then
    vim.lsp.buf_attach_client(bufnr, id)
    return id
  end
  if server_missing() then
    return nil
  end
  wrap_progress()
  if vim.lsp.start then
    id = vim.lsp.start(client_config(root), { bufnr = bufnr })
  else
    id = vim.lsp.start_client(client_config(root))
    if id then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
  if not id then
    notify(("could not start %s"):format(table.concat(M.config.cmd, " ")), vim.log.levels.ERROR, "start")
    return nil
  end
  clients[root] = id
  return id
end

--- The running servers: root -> client id (a copy).
function M.clients()
  return vim.deepcopy(clients)
end

--- The buffer (the current one by default) and the id of its root's running client, if any.
local function root_client_id(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = M.find_root(name ~= "" and name or uv.cwd())
  return bufnr, root and clients[root]
end

--- The Patina client for a buffer (attaching if needed).
function M.client(bufnr)
  local id
  bufnr, id = root_client_id(bufnr)
  if not id or not vim.lsp.get_client_by_id(id) then
    id = M.attach(bufnr)
  end
  if not id then
    -- fall back to any running Patina client (e.g. from a scratch buffer)
    for _, cid in pairs(clients) do
      id = cid
      break
    end
  end
  return id and vim.lsp.get_client_by_id(id) or nil
end

--- Send a request; `callback(result)` runs only on success, errors become readable messages.
function M.request(method, params, callback, bufnr)
  local client = M.client(bufnr)
  if not client then
    notify("no server for this buffer (see :checkhealth patina)", vim.log.levels.WARN)
    return false
  end
  return M.client_request(client, method, params, function(err, result)
    if err then
      notify(("%s failed: %s"):format(method, err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    callback(result)
  end, bufnr or vim.api.nvim_get_current_buf())
end

-- LSP columns count UTF-16 code units; Neovim's count bytes. Both ways, on Neovim 0.7 to 0.11+.
local new_index_api = vim.fn.has("nvim-0.11") == 1

local function line_text(fname, lnum0)
  local bufnr = vim.fn.bufnr(fname)
  if bufnr ~= -1 and vim.api.nvim_buf_is_loaded(bufnr) then
    return vim.api.nvim_buf_get_lines(bufnr, lnum0, lnum0 + 1, false)[1]
  end
  local ok, lines = pcall(vim.fn.readfile, fname, "", lnum0 + 1)
  return ok and lines[lnum0 + 1] or nil
end

--- The byte column of LSP position `character` (UTF-16 units) on `line`.
function M.byte_col(line, character)
  if not line then
    return character
  end
  local ok, col
  if new_index_api then
    ok, col = pcall(vim.str_byteindex, line, "utf-16", character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, true)
  end
  return ok and col or #line
end

--- The LSP position character (UTF-16 units) of byte column `col` on `line`.
function M.utf16_col(line, col)
  local ok, units
  if new_index_api then
    ok, units = pcall(vim.str_utfindex, line, "utf-16", col, false)
  else
    local _
    ok, _, units = pcall(vim.str_utfindex, line, col)
  end
  return ok and units or col
end

--- The byte column of an item's selection start in its file.
function M.item_col(item)
  local start = item.selectionRange.start
  return M.byte_col(line_text(vim.uri_to_fname(item.uri), start.line), start.character)
end

local function item_text(item)
  local path = vim.fn.fnamemodify(vim.uri_to_fname(item.uri), ":~:.")
  local name = item.container and (item.container .. "." .. item.name) or item.name
  local preview = (item.preview or ""):gsub("\n.*", "")
  return ("%s [%s] %s:%d  %s"):format(name, item.kind, path, item.range.start.line + 1, preview)
end

--- A result item as a quickfix entry.
function M.to_qf(item)
  return {
    filename = vim.uri_to_fname(item.uri),
    lnum = item.selectionRange.start.line + 1,
    col = M.item_col(item) + 1,
    text = ("%s [%s] %s"):format(item.container and (item.container .. "." .. item.name) or item.name,
      item.kind, ((item.preview or ""):gsub("\n.*", ""))),
  }
end

function M.jump(item)
  vim.cmd("normal! m'")
  vim.cmd("edit " .. vim.fn.fnameescape(vim.uri_to_fname(item.uri)))
  pcall(vim.api.nvim_win_set_cursor, 0, { item.selectionRange.start.line + 1, M.item_col(item) })
end

--- Search; opts: { limit, mode, languages, kinds, paths, qf = true (quickfix), on_result = fn(items) }.
function M.search(query, opts)
  opts = opts or {}
  if type(query) ~= "string" or query:match("^%s*$") then
    notify("say what the code does, e.g. :PatinaSearch parse http headers", vim.log.levels.WARN)
    return
  end
  local params = { query = query, limit = opts.limit or M.config.limit }
  for _, key in ipairs({ "mode", "languages", "kinds", "paths" }) do
    params[key] = opts[key]
  end
  M.request(protocol.SEARCH, params, function(result)
    local items = result.items or {}
    if opts.on_result then
      return opts.on_result(items, result)
    end
    if #items == 0 then
      notify(("nothing found for %q%s"):format(query, result.indexing and " (still indexing)" or ""),
        vim.log.levels.WARN)
      return
    end
    if opts.qf then
      vim.fn.setqflist({}, " ", { title = "Patina: " .. query, items = vim.tbl_map(M.to_qf, items) })
      vim.cmd("copen")
      return
    end
    vim.ui.select(items, { prompt = "Patina: " .. query, format_item = item_text }, function(choice)
      if choice then
        M.jump(choice)
      end
    end)
  end)
end

local LANGUAGE_ALIASES = { py = "python", js = "javascript", ts = "typescript", rs = "rust", rb = "ruby",
  golang = "go", ["c++"] = "cpp", cxx = "cpp", md = "markdown", cs = "csharp", ["c#"] = "csharp" }

--- `lang:py kind:function parse headers` -> "parse headers", { languages = { "python" }, kinds = { "function" } }
--- (the same syntax as the VS Code extension's search box).
function M.parse_query(input)
  local words, languages, kinds, seen = {}, {}, {}, {}
  for word in (input or ""):gmatch("%S+") do
    local key, values = word:match("^(%a+):(.+)$")
    key = key and key:lower()
    if key == "lang" or key == "language" or key == "kind" then
      for value in values:gmatch("[^,]+") do
        value = value:lower()
        local list = key == "kind" and kinds or languages
        value = key == "kind" and value or (LANGUAGE_ALIASES[value] or value)
        if not seen[key .. value] then
          seen[key .. value] = true
          table.insert(list, value)
        end
      end
    else
      table.insert(words, word)
    end
  end
  return table.concat(words, " "), { languages = #languages > 0 and languages or nil,
    kinds = #kinds > 0 and kinds or nil }
end

local QUERY_PREFIXES = { "lang:python", "lang:javascript", "lang:typescript", "lang:go", "lang:rust", "lang:java",
  "lang:c", "lang:cpp", "lang:csharp", "lang:php", "lang:ruby", "lang:markdown", "kind:function", "kind:method",
  "kind:class", "kind:struct", "kind:interface", "kind:enum", "kind:trait", "kind:type", "kind:module",
  "kind:comment", "kind:section" }

--- Completion for :PatinaSearch: the filter prefixes.
function M.complete(arglead)
  return vim.tbl_filter(function(p) return p:sub(1, #arglead) == arglead end, QUERY_PREFIXES)
end

function M.search_command(args, bang)
  if args == nil or args:match("^%s*$") then
    vim.ui.input({ prompt = "Patina search: " }, function(input)
      if input and not input:match("^%s*$") then
        local text, filters = M.parse_query(input)
        M.search(text, vim.tbl_extend("force", filters, { qf = bang }))
      end
    end)
    return
  end
  local text, filters = M.parse_query(args)
  M.search(text, vim.tbl_extend("force", filters, { qf = bang }))
end

--- Related code for the symbol under the cursor, or lines { first, last } of a selection, into the location list.
function M.related(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, limit = opts.limit or M.config.limit }
  if opts.range then
    local first, last = opts.range[1], opts.range[2]
    local last_line = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1] or ""
    params.range = { start = { line = first - 1, character = 0 },
      ["end"] = { line = last - 1, character = M.utf16_col(last_line, #last_line) } }
  else
    local cursor = vim.api.nvim_win_get_cursor(0)
    local line = vim.api.nvim_buf_get_lines(bufnr, cursor[1] - 1, cursor[1], false)[1] or ""
    params.position = { line = cursor[1] - 1, character = M.utf16_col(line, cursor[2]) }
  end
  local win = vim.api.nvim_get_current_win()
  M.request(protocol.RELATED, params, function(result)
    local items = result.items or {}
    if opts.on_result then
      return opts.on_result(items, result)
    end
    if #items == 0 then
      notify("no related code found" .. (result.indexing and " (still indexing)" or ""), vim.log.levels.WARN)
      return
    end
    vim.fn.setloclist(win, {}, " ", { title = "Patina: related", items = vim.tbl_map(M.to_qf, items) })
    vim.cmd("lopen")
  end, bufnr)
end

--- The indexing phase a progress message names ("lexical: 10/20 files", "semantic: ..."), or nil.
function M.phase_of(message)
  if type(message) ~= "string" then
    return nil
  end
  return message:match("^(lexical)%f[%W]") or message:match("^(semantic)%f[%W]")
end

local function thousands(n)
  return (tostring(n):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- A short status for statuslines, for the server of the current buffer's root (`bufnr` to choose
--- another): "indexing 41% (semantic)", "ready 12,345 units", "starting", or "" (no server).
function M.status(bufnr)
  local _, id = root_client_id(bufnr)
  if not id then
    return ""
  end
  local state = progress[id]
  if state and not state.done and state.percentage then
    local phase = state.phase and (" (%s)"):format(state.phase) or ""
    return ("indexing %d%%%s"):format(state.percentage, phase)
  end
  local s = statuses[id]
  if s and s.state == "ready" then
    return ("ready %s units"):format(thousands(s.units))
  elseif s and s.state == "indexing" then
    return "indexing"
  elseif s and s.state == "error" then
    return "error"
  end
  return state and state.done and "ready" or "starting"
end

function M.show_status()
  M.request(protocol.STATUS, vim.empty_dict(), function(s)
    M._last_status = s
    local lines = {
      ("Patina: %s%s — %d files, %d units, %d pending"):format(s.state, s.phase and (" (%s %d%%)"):format(
        s.phase, s.percentage or 0) or "", s.files, s.units, s.pendingFiles),
      ("model %s (%s)"):format(s.model, s.modelPath),
      ("cache %s"):format(s.cacheDir),
    }
    if s.message then
      table.insert(lines, s.message)
    end
    notify(table.concat(lines, "\n"), s.state == "error" and vim.log.levels.ERROR or vim.log.levels.INFO)
  end)
end

--- Stop every Patina server and start them again for the open buffers (after an upgrade, say).
function M.restart()
  for root, id in pairs(clients) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      call(client, "stop")
    end
    clients[root] = nil
  end
  vim.defer_fn(function()
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_name(bufnr) ~= "" then
        M.attach(bufnr)
      end
    end
    notify("restarted")
  end, 500)
end

--- Open Neovim's LSP log, where the server's stderr and Patina's messages go.
function M.log()
  vim.cmd("edit " .. vim.fn.fnameescape(vim.lsp.get_log_path()))
end

function M.reindex()
  M.request("workspace/executeCommand", { command = protocol.CMD_REINDEX, arguments = {} }, function()
    notify("reindexing")
  end)
end

function M.setup(opts)
  local before = M.config
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if next(clients) ~= nil and not vim.deep_equal(before, M.config) then
    -- a server reads its options when it starts: running ones start again with the new ones
    M.restart()
  end
  if not vim.g.loaded_patina then
    -- plugin/ was not sourced (a manager that loads the repository root, e.g. lazy.nvim): the commands
    vim.cmd("runtime plugin/patina.lua")
  end
  local group = vim.api.nvim_create_augroup("patina", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
    group = group,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  -- buffers already open when setup runs
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_name(bufnr) ~= "" then
      M.attach(bufnr)
    end
  end
  if M.config.keys then
    vim.keymap.set("n", "<leader>ps", function() M.search_command("", false) end, { desc = "Patina search" })
    vim.keymap.set("n", "<leader>pr", function() M.related() end, { desc = "Patina related" })
    vim.keymap.set("x", "<leader>pr", ":PatinaRelated<CR>", { desc = "Patina related (selection)" })
  end
end

return M
