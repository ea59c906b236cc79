-- Messages to the user (vim.notify), each prefixed "Patina:"; some only once a session.
local M = {}

local notified = {}

--- Tell the user `msg` at `level` (INFO by default); with `once_key`, only the first time for that key.
function M.notify(msg, level, once_key)
  if once_key then
    if notified[once_key] then
      return
    end
    notified[once_key] = true
  end
  vim.notify("Patina: " .. msg, level or vim.log.levels.INFO)
end

return M
