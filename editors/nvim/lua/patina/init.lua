-- Patina for Neovim: semantic search and related code from the Patina language server.
-- Works on Neovim 0.7 (vim.lsp.start_client) and uses vim.lsp.start where it exists.
-- This module is `setup()` and the public API; the work is in the modules beside it: client (the
-- servers), roots (which folder is a workspace), progress (indexing progress and status), positions
-- (UTF-16 columns), ui (pickers, lists, messages), log, compat (calls that changed across versions).
local client = require("patina.client")
local compat = require("patina.compat")
local log = require("patina.log")
local positions = require("patina.positions")
local progress = require("patina.progress")
local protocol = require("patina.protocol")
local roots = require("patina.roots")
local ui = require("patina.ui")

local M = {}

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

-- the API the modules beside this one provide
M.client_request = compat.client_request
M.client_request_sync = compat.client_request_sync
M.client_cancel_request = compat.client_cancel_request
M.find_root = roots.find_root
M.attach = client.attach
M.clients = client.clients
M.client = client.client
M.request = client.request
M.restart = client.restart
M.byte_col = positions.byte_col
M.utf16_col = positions.utf16_col
M.item_col = positions.item_col
M.to_qf = ui.to_qf
M.jump = ui.jump
M.phase_of = progress.phase_of

--- Search; opts: { limit, mode, languages, kinds, paths, qf = true (quickfix), on_result = fn(items) }.
function M.search(query, opts)
  opts = opts or {}
  if type(query) ~= "string" or query:match("^%s*$") then
    log.notify("say what the code does, e.g. :PatinaSearch parse http headers", vim.log.levels.WARN)
    return
  end
  local params = { query = query, limit = opts.limit or M.config.limit }
  for _, key in ipairs({ "mode", "languages", "kinds", "paths" }) do
    params[key] = opts[key]
  end
  client.request(protocol.SEARCH, params, function(result)
    local items = result.items or {}
    if opts.on_result then
      return opts.on_result(items, result)
    end
    if #items == 0 then
      log.notify(("nothing found for %q%s"):format(query, result.indexing and " (still indexing)" or ""),
        vim.log.levels.WARN)
      return
    end
    ui.show_search(query, items, opts.qf)
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
      ["end"] = { line = last - 1, character = positions.utf16_col(last_line, #last_line) } }
  else
    local cursor = vim.api.nvim_win_get_cursor(0)
    local line = vim.api.nvim_buf_get_lines(bufnr, cursor[1] - 1, cursor[1], false)[1] or ""
    params.position = { line = cursor[1] - 1, character = positions.utf16_col(line, cursor[2]) }
  end
  local win = vim.api.nvim_get_current_win()
  client.request(protocol.RELATED, params, function(result)
    local items = result.items or {}
    if opts.on_result then
      return opts.on_result(items, result)
    end
    if #items == 0 then
      log.notify(result.message or ("no related code found" .. (result.indexing and " (still indexing)" or "")),
        vim.log.levels.WARN)
      return
    end
    ui.show_related(win, items)
  end, bufnr)
end

--- A short status for statuslines, for the server of the current buffer's root (`bufnr` to choose
--- another): "indexing 41% (semantic)", "ready 12,345 units", "starting", or "" (no server).
function M.status(bufnr)
  local _, id = client.root_client_id(bufnr)
  if not id then
    return ""
  end
  return progress.line(id)
end

function M.show_status()
  client.request(protocol.STATUS, vim.empty_dict(), ui.show_status)
end

--- Open Neovim's LSP log, where the server's stderr and Patina's messages go.
function M.log()
  vim.cmd("edit " .. vim.fn.fnameescape(vim.lsp.get_log_path()))
end

function M.reindex()
  client.request("workspace/executeCommand", { command = protocol.CMD_REINDEX, arguments = {} }, function()
    log.notify("reindexing")
  end)
end

function M.setup(opts)
  local before = M.config
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if client.running() and not vim.deep_equal(before, M.config) then
    -- a server reads its options when it starts: running ones start again with the new ones
    client.restart()
  end
  if not vim.g.loaded_patina then
    -- plugin/ was not sourced (a manager that loads the repository root, e.g. lazy.nvim): the commands
    vim.cmd("runtime plugin/patina.lua")
  end
  local group = vim.api.nvim_create_augroup("patina", { clear = true })
  vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
    group = group,
    callback = function(args)
      client.attach(args.buf)
    end,
  })
  -- buffers already open when setup runs
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_name(bufnr) ~= "" then
      client.attach(bufnr)
    end
  end
  if M.config.keys then
    vim.keymap.set("n", "<leader>ps", function() M.search_command("", false) end, { desc = "Patina search" })
    vim.keymap.set("n", "<leader>pr", function() M.related() end, { desc = "Patina related" })
    vim.keymap.set("x", "<leader>pr", ":PatinaRelated<CR>", { desc = "Patina related (selection)" })
  end
end

return M
