-- Starting, finding and stopping the Patina servers: one per workspace root, shared by its buffers.
local compat = require("patina.compat")
local log = require("patina.log")
local progress = require("patina.progress")
local roots = require("patina.roots")

local M = {}

local uv = vim.uv or vim.loop
local clients = {} -- root -> client id

local function config()
  return require("patina").config
end

local function init_options()
  local cfg = config()
  local opts = vim.deepcopy(cfg.init_options or {})
  if cfg.model then
    opts.model = cfg.model
  end
  if cfg.exclude then
    opts.exclude = cfg.exclude
  end
  if next(opts) == nil then
    return vim.empty_dict()
  end
  return opts
end

local function client_config(root)
  return {
    name = "patina",
    cmd = config().cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = init_options(),
    -- the first status: a server that does not index on startup is "ready" at once, never "starting"
    on_init = function(client)
      vim.schedule(function()
        progress.fetch_status(client.id)
      end)
    end,
    on_exit = function(code, signal, client_id)
      for r, id in pairs(clients) do
        if id == client_id then
          clients[r] = nil
        end
      end
      progress.forget(client_id)
      vim.schedule(progress.redraw_soon)
      if code ~= 0 then
        vim.schedule(function()
          log.notify(("the server exited with code %d (signal %d); run :PatinaStatus after reopening a file, "
            .. "or :LspLog for details"):format(code, signal or 0), vim.log.levels.ERROR)
        end)
      end
    end,
  }
end

local function server_missing()
  local exe = config().cmd and config().cmd[1]
  if type(exe) ~= "string" or vim.fn.executable(exe) == 0 then
    log.notify(("server command %q not found. Install Patina (pip install patina-lsp) or set `cmd` in "
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
  local root = roots.find_root(name)
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
  progress.follow()
  if vim.lsp.start then
    id = vim.lsp.start(client_config(root), { bufnr = bufnr })
  else
    id = vim.lsp.start_client(client_config(root))
    if id then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
  if not id then
    log.notify(("could not start %s"):format(table.concat(config().cmd, " ")), vim.log.levels.ERROR, "start")
    return nil
  end
  clients[root] = id
  return id
end

--- The running servers: root -> client id (a copy).
function M.clients()
  return vim.deepcopy(clients)
end

--- Whether any server runs.
function M.running()
  return next(clients) ~= nil
end

--- The buffer (the current one by default) and the id of its root's running client, if any.
function M.root_client_id(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = roots.find_root(name ~= "" and name or uv.cwd())
  return bufnr, root and clients[root]
end

--- The Patina client for a buffer (attaching if needed).
function M.client(bufnr)
  local id
  bufnr, id = M.root_client_id(bufnr)
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
    log.notify("no server for this buffer (see :checkhealth patina)", vim.log.levels.WARN)
    return false
  end
  return compat.client_request(client, method, params, function(err, result)
    if err then
      log.notify(("%s failed: %s"):format(method, err.message or tostring(err)), vim.log.levels.ERROR)
      return
    end
    callback(result)
  end, bufnr or vim.api.nvim_get_current_buf())
end

--- Stop every Patina server and start them again for the open buffers (after an upgrade, say).
function M.restart()
  for root, id in pairs(clients) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      compat.call(client, "stop")
    end
    clients[root] = nil
  end
  vim.defer_fn(function()
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_name(bufnr) ~= "" then
        M.attach(bufnr)
      end
    end
    log.notify("restarted")
  end, 500)
end

return M
