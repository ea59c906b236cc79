// Activation and deactivation only: the rest lives in client.ts, statusBar.ts and commands/.
import * as vscode from "vscode";
import { PatinaClient } from "./client";
import { findRelated } from "./commands/related";
import { semanticSearch } from "./commands/search";
import { reindex, restart, showStatus } from "./commands/server";
import { hasLocalFolder, needsRestart, readSettings } from "./settings";
import { StatusBar } from "./statusBar";

let patina: PatinaClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const statusBar = new StatusBar();
  patina = new PatinaClient(statusBar);
  const p = patina;
  context.subscriptions.push(
    statusBar,
    p,
    vscode.commands.registerCommand("patina.semanticSearch", (query?: string) => semanticSearch(p, query)),
    vscode.commands.registerCommand("patina.findRelated", () => findRelated(p)),
    vscode.commands.registerCommand("patina.reindexWorkspace", () => reindex(p)),
    vscode.commands.registerCommand("patina.restartServer", () => restart(p)),
    vscode.commands.registerCommand("patina.showOutput", () => p.showOutput()),
    vscode.commands.registerCommand("patina.showStatus", () => showStatus(p)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("patina")) {
        const after = readSettings(vscode.workspace.getConfiguration("patina"));
        if (needsRestart(p.settings, after)) {
          void p.restart();
        } else if (after.trace !== p.settings.trace) {
          void p.setTrace(after.trace);
        }
        // other settings reach the server as workspace/didChangeConfiguration (synchronize.configurationSection)
      }
    }),
  );
  // an empty window, or one on a virtual file system, starts no server until a folder on disk is opened
  // (or a Patina command is run)
  if (hasLocalFolder(vscode.workspace.workspaceFolders)) {
    await p.get();
    return;
  }
  const waiting = vscode.workspace.onDidChangeWorkspaceFolders(() => {
    if (hasLocalFolder(vscode.workspace.workspaceFolders)) {
      waiting.dispose();
      void p.get();
    }
  });
  context.subscriptions.push(waiting);
}

export async function deactivate(): Promise<void> {
  await patina?.stop();
}
