-- Patina's custom protocol: method and command names (mirrors server/patina_lsp/protocol.py).
return {
  SEARCH = "patina/search",
  RELATED = "patina/related",
  STATUS = "patina/status",
  CMD_SEARCH = "patina.search",
  CMD_RELATED = "patina.related",
  CMD_REINDEX = "patina.reindex",
  CMD_STATUS = "patina.status",
  MAX_LIMIT = 200,
}
