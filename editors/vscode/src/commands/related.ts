// Patina: Find Related Code — related code in the References view (peek).
import * as vscode from "vscode";
import type { PatinaClient } from "../client";
import { itemToLocation } from "../convert";
import { RELATED, RelatedParams, SearchResult } from "../protocol";

export async function findRelated(patina: PatinaClient): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("Patina: open a file and put the cursor on a symbol first.");
    return;
  }
  const client = await patina.get();
  if (!client) {
    return;
  }
  const selection = editor.selection;
  const params: RelatedParams = { textDocument: { uri: editor.document.uri.toString() }, limit: 30 };
  if (selection.isEmpty) {
    params.position = { line: selection.active.line, character: selection.active.character };
  } else {
    params.range = {
      start: { line: selection.start.line, character: selection.start.character },
      end: { line: selection.end.line, character: selection.end.character },
    };
  }
  let result: SearchResult;
  try {
    result = await client.sendRequest<SearchResult>(RELATED, params);
  } catch (err) {
    void vscode.window.showWarningMessage(`Patina: ${(err as Error).message ?? String(err)}`);
    return;
  }
  if (result.items.length === 0) {
    void vscode.window.showInformationMessage(result.message ? `Patina: ${result.message}.`
      : result.indexing ? "Patina: nothing related found yet (still indexing)." : "Patina: nothing related found.");
    return;
  }
  const locations = result.items.map((item) => {
    const loc = itemToLocation(item);
    return new vscode.Location(vscode.Uri.parse(loc.uri), new vscode.Range(loc.line, loc.character, loc.endLine, loc.endCharacter));
  });
  await vscode.commands.executeCommand("editor.action.showReferences", editor.document.uri, selection.active, locations);
}
