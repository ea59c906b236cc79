-- :Telescope patina — live semantic search as you type (only loaded when telescope.nvim is installed).
local has_telescope, telescope = pcall(require, "telescope")
if not has_telescope then
  return {}
end

local finders = require("telescope.finders")
local pickers = require("telescope.pickers")
local conf = require("telescope.config").values
local actions = require("telescope.actions")
local action_state = require("telescope.actions.state")
local patina = require("patina")
local protocol = require("patina.protocol")

local function entry_maker(item)
  local filename = vim.uri_to_fname(item.uri)
  local name = item.container and (item.container .. "." .. item.name) or item.name
  return {
    value = item,
    ordinal = name,
    display = ("%s [%s] %s:%d"):format(name, item.kind, vim.fn.fnamemodify(filename, ":~:."), item.range.start.line + 1),
    filename = filename,
    lnum = item.selectionRange.start.line + 1,
    col = require("patina").item_col(item) + 1,
  }
end

local function search(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = patina.client(bufnr)
  if not client then
    vim.notify("Patina: no server for this buffer", vim.log.levels.WARN)
    return
  end
  pickers.new(opts, {
    prompt_title = "Patina semantic search",
    finder = finders.new_dynamic({
      fn = function(prompt)
        if not prompt or prompt:match("^%s*$") then
          return {}
        end
        local response = require("patina").client_request_sync(client, protocol.SEARCH, { query = prompt, limit = 50 }, 5000, bufnr)
        return response and response.result and response.result.items or {}
      end,
      entry_maker = entry_maker,
    }),
    -- keep the server's order: a fuzzy sorter would hide results whose names do not match the words typed
    sorter = require("telescope.sorters").highlighter_only(opts),
    previewer = conf.qflist_previewer(opts),
    debounce = 150,
    attach_mappings = function(prompt_bufnr)
      actions.select_default:replace(function()
        local entry = action_state.get_selected_entry()
        actions.close(prompt_bufnr)
        if entry then
          patina.jump(entry.value)
        end
      end)
      return true
    end,
  }):find()
end

return telescope.register_extension({ exports = { patina = search, search = search } })
