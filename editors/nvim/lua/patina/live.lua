-- Search as the user types, for pickers (Telescope's live picker uses it): a query never blocks the
-- editor. One request is in flight at a time: a new query cancels the one before it
-- ($/cancelRequest), and a stale answer that arrives anyway is dropped, so results always belong to
-- the latest text typed. The same `lang:` / `kind:` filters as :PatinaSearch.
local protocol = require("patina.protocol")

local M = {}

--- A live searcher for `client` (a Patina client) on behalf of buffer `bufnr`.
--- :query(text, on_items) answers by calling on_items(items, result) later, or never when the query
--- was overtaken by a newer one; :close() cancels what is in flight.
function M.new(client, bufnr, opts)
  opts = opts or {}
  local patina = require("patina")
  local self = { generation = 0 }

  local function cancel()
    if self.request_id then
      pcall(patina.client_cancel_request, client, self.request_id)
      self.request_id = nil
    end
  end

  function self:query(text, on_items)
    cancel()
    self.generation = self.generation + 1
    local mine = self.generation
    local words, filters = patina.parse_query(text)
    if words:match("^%s*$") then
      on_items({}, nil)
      return
    end
    local params = { query = words, limit = opts.limit or patina.config.limit }
    for key, value in pairs(filters) do
      params[key] = value
    end
    local ok, id = patina.client_request(client, protocol.SEARCH, params, function(err, result)
      if mine ~= self.generation then
        return -- overtaken by a newer query
      end
      self.request_id = nil
      if err then
        on_items({}, { error = err.message or tostring(err) })
        return
      end
      on_items(result and result.items or {}, result)
    end, bufnr)
    if ok then
      self.request_id = id
    end
  end

  function self:close()
    cancel()
    self.generation = self.generation + 1
  end

  return self
end

return M
