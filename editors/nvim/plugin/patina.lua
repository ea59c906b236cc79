-- User commands only; the module loads on first use.
if vim.g.loaded_patina then
  return
end
vim.g.loaded_patina = true

local function patina()
  return require("patina")
end

vim.api.nvim_create_user_command("PatinaSearch", function(args)
  patina().search_command(args.args, args.bang)
end, { nargs = "*", bang = true, desc = "Patina: semantic search (! fills the quickfix list)",
  complete = function(arglead) return patina().complete(arglead) end })

vim.api.nvim_create_user_command("PatinaRelated", function(args)
  patina().related({ range = args.range > 0 and { args.line1, args.line2 } or nil })
end, { range = true, desc = "Patina: code related to the symbol under the cursor or the selection" })

vim.api.nvim_create_user_command("PatinaStatus", function()
  patina().show_status()
end, { desc = "Patina: index status" })

vim.api.nvim_create_user_command("PatinaReindex", function()
  patina().reindex()
end, { desc = "Patina: bring the index in line with the disk" })

vim.api.nvim_create_user_command("PatinaRestart", function()
  patina().restart()
end, { desc = "Patina: restart the servers" })

vim.api.nvim_create_user_command("PatinaLog", function()
  patina().log()
end, { desc = "Patina: open the LSP log" })
