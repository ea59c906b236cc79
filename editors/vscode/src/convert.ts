// Pure conversions of result items for display (no vscode import: unit-tested in node).
import type { Item } from "./protocol";

// LSP SymbolKind -> codicon name
const ICONS: Record<number, string> = {
  1: "file", 2: "module", 3: "namespace", 4: "package", 5: "class", 6: "method", 7: "property",
  8: "field", 9: "constructor", 10: "enum", 11: "interface", 12: "function", 13: "variable",
  14: "constant", 15: "string", 23: "struct", 26: "type-parameter",
};

export interface PickFields {
  label: string;
  description: string;
  detail: string;
}

export interface PlainLocation {
  uri: string;
  line: number;
  character: number;
  endLine: number;
  endCharacter: number;
}

/** The QuickPick row of an item: icon + name, container and path:line, preview as detail. */
export function itemToPick(item: Item, relativePath: string): PickFields {
  const icon = ICONS[item.symbolKind] ?? "symbol-misc";
  const codicon = icon.startsWith("symbol-") || ["file", "string"].includes(icon) ? icon : `symbol-${icon}`;
  const where = `${relativePath}:${item.range.start.line + 1}`;
  const firstLine = item.preview.split("\n").find((line) => line.trim().length > 0) ?? "";
  return {
    label: `$(${codicon}) ${item.name}`,
    description: item.container ? `${item.container} · ${where}` : where,
    detail: firstLine.trim(),
  };
}

/** Where an item's name is: the place to put the cursor. */
export function itemToLocation(item: Item): PlainLocation {
  const sel = item.selectionRange;
  return { uri: item.uri, line: sel.start.line, character: sel.start.character, endLine: sel.end.line,
    endCharacter: sel.end.character };
}

/** A status bar text for a status or a progress percentage. */
export function statusText(state: string, units: number, percentage?: number, phase?: string): string {
  if (state === "indexing" || state === "starting") {
    const suffix = phase ? ` (${phase})` : "";
    return percentage === undefined
      ? `$(sync~spin) Patina: indexing${suffix}`
      : `$(sync~spin) Patina: indexing ${percentage}%${suffix}`;
  }
  if (state === "error") {
    return "$(error) Patina: error";
  }
  return `$(search) Patina: ${units.toLocaleString("en-US")} units`;
}

/** The indexing phase a progress message names ("lexical: 10/20 files", "semantic: ..."), if any. */
export function phaseOf(message: string | undefined): string | undefined {
  const match = /^(lexical|semantic)\b/.exec(message ?? "");
  return match ? match[1] : undefined;
}
