-- LSP columns count UTF-16 code units; Neovim's count bytes. Both ways, on Neovim 0.7 to 0.11+.
local M = {}

local new_index_api = vim.fn.has("nvim-0.11") == 1

--- Line `lnum0` (0-based) of a file: from its buffer when it is loaded, else from disk.
function M.line_text(fname, lnum0)
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
  return M.byte_col(M.line_text(vim.uri_to_fname(item.uri), start.line), start.character)
end

return M
