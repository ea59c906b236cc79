-- What results look like: a picker (vim.ui.select), the quickfix and location lists, the status message.
local log = require("patina.log")
local positions = require("patina.positions")

local M = {}

local function qualified(item)
  return item.container and (item.container .. "." .. item.name) or item.name
end

local function first_line(text)
  return ((text or ""):gsub("\n.*", ""))
end

--- One line for a picker: name [kind] path:line  preview.
function M.item_text(item)
  local path = vim.fn.fnamemodify(vim.uri_to_fname(item.uri), ":~:.")
  return ("%s [%s] %s:%d  %s"):format(qualified(item), item.kind, path, item.range.start.line + 1,
    first_line(item.preview))
end

--- A result item as a quickfix entry.
function M.to_qf(item)
  return {
    filename = vim.uri_to_fname(item.uri),
    lnum = item.selectionRange.start.line + 1,
    col = positions.item_col(item) + 1,
    text = ("%s [%s] %s"):format(qualified(item), item.kind, first_line(item.preview)),
  }
end

--- Open an item's file at its name.
function M.jump(item)
  vim.cmd("normal! m'")
  vim.cmd("edit " .. vim.fn.fnameescape(vim.uri_to_fname(item.uri)))
  pcall(vim.api.nvim_win_set_cursor, 0, { item.selectionRange.start.line + 1, positions.item_col(item) })
end

--- Search results: into the quickfix list (`qf`), else a picker that jumps to the choice.
function M.show_search(query, items, qf)
  if qf then
    vim.fn.setqflist({}, " ", { title = "Patina: " .. query, items = vim.tbl_map(M.to_qf, items) })
    vim.cmd("copen")
    return
  end
  vim.ui.select(items, { prompt = "Patina: " .. query, format_item = M.item_text }, function(choice)
    if choice then
      M.jump(choice)
    end
  end)
end

--- Related code into window `win`'s location list.
function M.show_related(win, items)
  vim.fn.setloclist(win, {}, " ", { title = "Patina: related", items = vim.tbl_map(M.to_qf, items) })
  vim.cmd("lopen")
end

--- A patina/status answer as a message.
function M.show_status(s)
  local lines = {
    ("Patina: %s%s — %d files, %d units, %d pending"):format(s.state, s.phase and (" (%s %d%%)"):format(
      s.phase, s.percentage or 0) or "", s.files, s.units, s.pendingFiles),
    ("model %s (%s)"):format(s.model, s.modelPath),
    ("cache %s"):format(s.cacheDir),
  }
  if s.message then
    table.insert(lines, s.message)
  end
  log.notify(table.concat(lines, "\n"), s.state == "error" and vim.log.levels.ERROR or vim.log.levels.INFO)
end

return M
