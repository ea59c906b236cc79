// Patina: Reindex Workspace, Restart Server, Show Output, Show Status.
import * as vscode from "vscode";
import type { PatinaClient } from "../client";
import { CMD_REINDEX } from "../protocol";

export async function reindex(patina: PatinaClient): Promise<void> {
  const client = await patina.get();
  if (client) {
    await client.sendRequest("workspace/executeCommand", { command: CMD_REINDEX, arguments: [] });
    void patina.statusBar.refresh();
  }
}

export async function restart(patina: PatinaClient): Promise<void> {
  await patina.restart();
}

export async function showStatus(patina: PatinaClient): Promise<void> {
  const client = await patina.get();
  if (!client) {
    patina.showOutput();
    return;
  }
  const status = await patina.statusBar.refresh();
  if (!status) {
    return;
  }
  const lines = [
    `${status.state}: ${status.files.toLocaleString("en-US")} files, ${status.units.toLocaleString("en-US")} units` +
      (status.pendingFiles ? `, ${status.pendingFiles.toLocaleString("en-US")} to go` : ""),
    `model ${status.model}: ${status.modelPath}`,
    `cache: ${status.cacheDir}`,
  ];
  if (status.message) {
    lines.push(status.message);
  }
  const choice = await vscode.window.showInformationMessage(`Patina ${lines.join(" · ")}`, "Reindex", "Show Output");
  if (choice === "Reindex") {
    await reindex(patina);
  } else if (choice === "Show Output") {
    patina.showOutput();
  }
}
