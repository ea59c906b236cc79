-- :Telescope patina — live semantic search as you type, and :Telescope patina related — the code like
-- the code under the cursor (only loaded when telescope.nvim is installed:
-- require("telescope").load_extension("patina")).
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
local live = require("patina.live")

local function entry_maker(item)
  local filename = vim.uri_to_fname(item.uri)
  local name = item.container and (item.container .. "." .. item.name) or item.name
  return {
    value = item,
    ordinal = name,
    display = ("%s [%s] %s:%d"):format(name, item.kind, vim.fn.fnamemodify(filename, ":~:."), item.range.start.line + 1),
    filename = filename,
    lnum = item.selectionRange.start.line + 1,
    col = patina.item_col(item) + 1,
  }
end

local function jump_on_select(prompt_bufnr)
  actions.select_default:replace(function()
    local entry = action_state.get_selected_entry()
    actions.close(prompt_bufnr)
    if entry then
      patina.jump(entry.value)
    end
  end)
  return true
end

--- A Telescope finder over the server: each prompt is one asynchronous request (the editor never
--- waits), the one before it cancelled; results arrive through process_result when the answer does.
local function live_finder(client, bufnr, opts)
  local searcher = live.new(client, bufnr, { limit = opts.limit })
  return setmetatable({
    close = function()
      searcher:close()
    end,
  }, {
    __call = function(_, prompt, process_result, process_complete)
      searcher:query(prompt or "", function(items)
        for i, item in ipairs(items) do
          local entry = entry_maker(item)
          entry.index = i
          if process_result(entry) then
            return
          end
        end
        process_complete()
      end)
    end,
  })
end

local function search(opts)
  opts = opts or {}
  local bufnr = vim.api.nvim_get_current_buf()
  local client = patina.client(bufnr)
  if not client then
    vim.notify("Patina: no server for this buffer (see :checkhealth patina)", vim.log.levels.WARN)
    return
  end
  pickers.new(opts, {
    prompt_title = "Patina semantic search (lang: kind: filter)",
    finder = live_finder(client, bufnr, opts),
    -- keep the server's order: a fuzzy sorter would hide results whose names do not match the words typed
    sorter = require("telescope.sorters").highlighter_only(opts),
    previewer = conf.qflist_previewer(opts),
    debounce = opts.debounce or 150,
    attach_mappings = jump_on_select,
  }):find()
end

local function related(opts)
  opts = opts or {}
  patina.related({ limit = opts.limit, on_result = function(items, result)
    if #items == 0 then
      vim.notify("Patina: no related code found" .. (result.indexing and " (still indexing)" or ""), vim.log.levels.WARN)
      return
    end
    pickers.new(opts, {
      prompt_title = "Patina related code",
      finder = finders.new_table({ results = items, entry_maker = entry_maker }),
      sorter = conf.generic_sorter(opts),
      previewer = conf.qflist_previewer(opts),
      attach_mappings = jump_on_select,
    }):find()
  end })
end

return telescope.register_extension({ exports = { patina = search, search = search, related = related } })
