// Patina: Semantic Search — a QuickPick with live results as you type.
import * as vscode from "vscode";
import { CancellationTokenSource } from "vscode-languageclient/node";
import type { PatinaClient } from "../client";
import { itemToLocation, itemToPick } from "../convert";
import { Item, SEARCH, SearchParams, SearchResult } from "../protocol";
import { parseQuery } from "../query";

const DEBOUNCE_MS = 150;
const LIMIT = 50;

interface ResultPick extends vscode.QuickPickItem {
  item: Item;
}

function relativePath(uri: string): string {
  return vscode.workspace.asRelativePath(vscode.Uri.parse(uri), vscode.workspace.workspaceFolders !== undefined
    && vscode.workspace.workspaceFolders.length > 1);
}

async function open(item: Item, preview: boolean): Promise<void> {
  const loc = itemToLocation(item);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(loc.uri));
  const range = new vscode.Range(loc.line, loc.character, loc.endLine, loc.endCharacter);
  await vscode.window.showTextDocument(doc, { preview, preserveFocus: preview, selection: range });
}

/** Back to the editor, selection and scroll position the user left (or no editor, as before). */
async function returnTo(origin: vscode.TextEditor | undefined, selection: vscode.Selection | undefined,
  top: vscode.Position | undefined): Promise<void> {
  if (!origin) {
    await vscode.commands.executeCommand("workbench.action.closeActiveEditor");
    return;
  }
  const editor = await vscode.window.showTextDocument(origin.document, { viewColumn: origin.viewColumn, selection });
  if (top) {
    editor.revealRange(new vscode.Range(top, top), vscode.TextEditorRevealType.AtTop);
  }
}

export async function semanticSearch(patina: PatinaClient, initial?: string): Promise<void> {
  const client = await patina.get();
  if (!client) {
    return;
  }
  const pick = vscode.window.createQuickPick<ResultPick>();
  pick.title = "Patina: Semantic Search";
  pick.placeholder = "Describe the code (filters: lang:python kind:function)";
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  let timer: NodeJS.Timeout | undefined;
  let pending: CancellationTokenSource | undefined;
  let generation = 0;
  // where the user was: Escape after previewing results goes back there
  const origin = vscode.window.activeTextEditor;
  const originSelection = origin?.selection;
  const originTop = origin?.visibleRanges[0]?.start;
  let previewed = false;
  let accepted = false;

  const run = async (value: string) => {
    pending?.cancel();
    const parsed = parseQuery(value);
    if (!parsed.text) {
      pick.items = [];
      pick.busy = false;
      return;
    }
    const source = new CancellationTokenSource();
    pending = source;
    const mine = ++generation;
    const params: SearchParams = { query: parsed.text, limit: LIMIT };
    if (parsed.languages.length) {
      params.languages = parsed.languages;
    }
    if (parsed.kinds.length) {
      params.kinds = parsed.kinds;
    }
    pick.busy = true;
    try {
      const result = await client.sendRequest<SearchResult>(SEARCH, params, source.token);
      if (mine !== generation) {
        return;
      }
      // alwaysShow: the QuickPick must not filter semantic results by the typed words
      pick.items = result.items.map((item) => ({ ...itemToPick(item, relativePath(item.uri)), item, alwaysShow: true }));
      pick.title = result.indexing ? "Patina: Semantic Search (indexing: results so far)" : "Patina: Semantic Search";
    } catch (err) {
      if (!source.token.isCancellationRequested && mine === generation) {
        pick.items = [];
        patina.log(`search failed: ${String(err)}`);
        void vscode.window.showWarningMessage(`Patina: ${(err as Error).message ?? String(err)}`);
      }
    } finally {
      if (mine === generation) {
        pick.busy = false;
      }
    }
  };

  pick.onDidChangeValue((value) => {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => void run(value), DEBOUNCE_MS);
  });
  pick.onDidChangeActive((active) => {
    if (active[0]) {
      previewed = true;
      void open(active[0].item, true).catch(() => undefined);
    }
  });
  pick.onDidAccept(() => {
    const chosen = pick.selectedItems[0] ?? pick.activeItems[0];
    accepted = chosen !== undefined;
    pick.hide();
    if (chosen) {
      void open(chosen.item, false);
    }
  });
  pick.onDidHide(() => {
    pending?.cancel();
    if (timer) {
      clearTimeout(timer);
    }
    pick.dispose();
    if (!accepted && previewed) {
      void returnTo(origin, originSelection, originTop);
    }
  });
  if (initial) {
    pick.value = initial;
    void run(initial);
  }
  pick.show();
}
