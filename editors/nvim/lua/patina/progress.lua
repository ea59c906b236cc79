-- What each server is doing: its indexing progress ($/progress) and its last patina/status answer,
-- kept for statuslines (require("patina").status()).
local protocol = require("patina.protocol")
local compat = require("patina.compat")

local M = {}

local progress = {} -- client id -> { percentage, message, phase, done }
local statuses = {} -- client id -> the last patina/status answer
local redraw_pending = false
local wrapped = false

--- Redraw statuslines (at most every 200 ms) so that the status shown there follows the index.
function M.redraw_soon()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.defer_fn(function()
    redraw_pending = false
    pcall(vim.cmd, "redrawstatus!")
  end, 200)
end

--- The indexing phase a progress message names ("lexical: 10/20 files", "semantic: ..."), or nil.
function M.phase_of(message)
  if type(message) ~= "string" then
    return nil
  end
  return message:match("^(lexical)%f[%W]") or message:match("^(semantic)%f[%W]")
end

--- Ask a client for patina/status and keep the answer for the statusline.
function M.fetch_status(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if client then
    compat.client_request(client, protocol.STATUS, vim.empty_dict(), function(e, s)
      if not e and type(s) == "table" then
        M.remember(client_id, s)
        M.redraw_soon()
      end
    end)
  end
end

--- Keep a client's patina/status answer.
function M.remember(client_id, status)
  statuses[client_id] = status
end

--- Forget an exited client.
function M.forget(client_id)
  progress[client_id], statuses[client_id] = nil, nil
end

local function on_progress(err, result, ctx, config)
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
        M.fetch_status(ctx.client_id)
      end)
    end
    progress[ctx.client_id] = state
    M.redraw_soon()
  end
end

--- Follow $/progress (Neovim's own handler still runs after ours).
function M.follow()
  if wrapped then
    return
  end
  wrapped = true
  local default = vim.lsp.handlers["$/progress"]
  vim.lsp.handlers["$/progress"] = function(err, result, ctx, config)
    pcall(on_progress, err, result, ctx, config)
    if default then
      return default(err, result, ctx, config)
    end
  end
end

local function thousands(n)
  return (tostring(n):reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", ""))
end

--- A short status of client `id`: "indexing 41% (semantic)", "ready 12,345 units", "starting".
function M.line(id)
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

return M
