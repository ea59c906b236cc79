-- Which folder is a file's workspace: the nearest folder upwards with a root marker, never the home
-- directory or / unless the user allows it.
local M = {}

local uv = vim.uv or vim.loop

local function config()
  return require("patina").config
end

local function is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "directory"
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function normalize(path)
  return (vim.fn.fnamemodify(vim.fn.expand(path), ":p"):gsub("/$", ""))
end

local function allowed_as_root(dir)
  local home = uv.os_homedir()
  if dir ~= "" and dir ~= "/" and (home == nil or dir ~= normalize(home)) then
    return true
  end
  for _, allowed in ipairs(config().allowed_roots) do
    if normalize(allowed) == dir then
      return true
    end
  end
  return false
end

--- The workspace root of a file: the nearest folder upwards holding a root marker; nil when there
--- is none, or when it is the home directory or / (unless listed in `allowed_roots`).
function M.find_root(path)
  local cfg = config()
  local dir = is_dir(path) and path or vim.fn.fnamemodify(path, ":h")
  local current = normalize(dir)
  local nearest, outermost_vcs = nil, nil
  while current and current ~= "" do
    if allowed_as_root(current) then
      for _, marker in ipairs(cfg.root_markers) do
        if exists(current .. "/" .. marker) then
          nearest = nearest or current
          if cfg.vcs_markers[marker] then
            outermost_vcs = current
          end
        end
      end
    elseif nearest == nil and outermost_vcs == nil then
      -- home or /, not allowed: a marker there must not make everything below it a workspace
      for _, marker in ipairs(cfg.root_markers) do
        if exists(current .. "/" .. marker) then
          return nil
        end
      end
    end
    local parent = vim.fn.fnamemodify(current, ":h")
    if parent == current then
      break
    end
    current = parent
  end
  if cfg.prefer_vcs_root and outermost_vcs then
    return outermost_vcs -- one workspace per repository, not one per Makefile inside it
  end
  return nearest
end

return M
