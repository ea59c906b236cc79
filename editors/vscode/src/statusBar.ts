// The status bar item: indexing progress, then the unit count; click for details and Reindex.
import * as vscode from "vscode";
import type { LanguageClient, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport } from "vscode-languageclient/node";
import { phaseOf, statusText } from "./convert";
import { STATUS, Status } from "./protocol";

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private client: LanguageClient | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
    this.item.name = "Patina";
    this.item.command = "patina.showStatus";
    this.item.text = statusText("starting", 0);
    this.item.tooltip = "Patina: starting";
    this.item.show();
  }

  starting(): void {
    this.item.text = statusText("starting", 0);
    this.item.tooltip = "Patina: starting";
  }

  started(client: LanguageClient): void {
    this.client = client;
    void this.refresh();
  }

  progress(value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): void {
    if (value.kind === "end") {
      void this.refresh();
      return;
    }
    this.item.text = statusText("indexing", 0, value.percentage, phaseOf(value.message));
    this.item.tooltip = `Patina: ${value.message ?? "indexing"}`;
  }

  async refresh(): Promise<Status | undefined> {
    if (!this.client) {
      return undefined;
    }
    try {
      const status = await this.client.sendRequest<Status>(STATUS, {});
      if (status.state !== "indexing" || !this.item.text.includes("%")) {
        this.item.text = statusText(status.state, status.units, status.percentage, status.phase);
      }
      this.item.tooltip = `Patina: ${status.state}, ${status.files.toLocaleString("en-US")} files, ` +
        `${status.units.toLocaleString("en-US")} units` + (status.message ? `\n${status.message}` : "");
      if (status.state === "starting" || status.state === "indexing") {
        this.schedule();
      }
      return status;
    } catch {
      return undefined;
    }
  }

  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => void this.refresh(), 2000);
  }

  failed(message: string): void {
    this.item.text = statusText("error", 0);
    this.item.tooltip = message;
  }

  stopped(): void {
    this.client = undefined;
    this.item.text = "$(circle-slash) Patina: stopped";
    this.item.tooltip = "Patina: the server is not running (Patina: Restart Server)";
  }

  dispose(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.item.dispose();
  }
}
