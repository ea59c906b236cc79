-- Client calls that changed shape across Neovim versions (0.7 to 0.11+).
local M = {}

local method_calls = vim.fn.has("nvim-0.11") == 1 -- client:request(); client.request() is deprecated there

--- client:name(...) on Neovim 0.11+, client.name(...) before (the dot-call is deprecated there).
function M.call(client, name, ...)
  if method_calls then
    return client[name](client, ...)
  end
  return client[name](...)
end

function M.client_request(client, method, params, handler, bufnr)
  return M.call(client, "request", method, params, handler, bufnr)
end

function M.client_request_sync(client, method, params, timeout_ms, bufnr)
  return M.call(client, "request_sync", method, params, timeout_ms, bufnr)
end

function M.client_cancel_request(client, id)
  return M.call(client, "cancel_request", id)
end

return M
