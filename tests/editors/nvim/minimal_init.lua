-- Minimal init for headless tests: only this plugin on the runtimepath.
vim.opt.runtimepath:prepend(vim.env.PATINA_PLUGIN)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.cmd("runtime plugin/patina.lua")
