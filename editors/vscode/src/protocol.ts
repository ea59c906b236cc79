// Patina's custom protocol: method names and shapes (mirrors server/patina_lsp/protocol.py).

export const SEARCH = "patina/search";
export const RELATED = "patina/related";
export const STATUS = "patina/status";

export const CMD_SEARCH = "patina.search";
export const CMD_RELATED = "patina.related";
export const CMD_REINDEX = "patina.reindex";
export const CMD_STATUS = "patina.status";

export const MAX_LIMIT = 200;

export type Mode = "hybrid" | "semantic" | "lexical";

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface SearchParams {
  query: string;
  limit?: number;
  mode?: Mode;
  languages?: string[];
  kinds?: string[];
  paths?: string[];
}

export interface RelatedParams {
  textDocument: { uri: string };
  position?: Position;
  range?: Range;
  limit?: number;
}

export interface Item {
  uri: string;
  range: Range;
  selectionRange: Range;
  name: string;
  kind: string;
  symbolKind: number;
  container?: string;
  language: string;
  score: number;
  preview: string;
}

export interface SearchResult {
  items: Item[];
  indexing: boolean;
  /** patina/related with no items: why (e.g. nothing similar enough). */
  message?: string;
}

export type State = "starting" | "indexing" | "ready" | "error";

export interface Status {
  state: State;
  files: number;
  units: number;
  pendingFiles: number;
  model: "int8" | "fp32" | "code" | "code-fp32";
  modelPath: string;
  cacheDir: string;
  /** Texts embedded by the last indexing run (0 on a warm start), and those whose vectors came from the shared cache. */
  textsEmbedded: number;
  textsFromSharedCache: number;
  /** Pids of the Patina processes that write the indexes this one reads. */
  sharedWith?: string[];
  message?: string;
  /** While indexing: "lexical" (files extracted, searchable by words) or "semantic" (units being embedded). */
  phase?: "lexical" | "semantic";
  percentage?: number;
  filesExtracted?: number;
  filesToExtract?: number;
  unitsEmbedded?: number;
  unitsToEmbed?: number;
  etaSeconds?: number;
}
