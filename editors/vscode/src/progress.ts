// Indexing progress in VS Code's own notification, with its Cancel button: the server pauses.
import * as vscode from "vscode";
import {
  LanguageClient, ProgressToken, WorkDoneProgressBegin, WorkDoneProgressCancelNotification, WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from "vscode-languageclient/node";

/** A run shorter than this shows in the status bar alone (a saved file re-indexes in well under it). */
export const NOTIFY_AFTER_MS = 2000;

interface Run {
  title: string;
  message?: string;
  percentage: number;
  timer?: NodeJS.Timeout;
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
  shown: number;
  finish?: () => void;
  ended: boolean;
}

export class IndexingNotifications implements vscode.Disposable {
  private readonly runs = new Map<ProgressToken, Run>();

  constructor(private readonly client: () => LanguageClient | undefined) {}

  /**
   * Show a cancellable progress as a notification once it has lasted NOTIFY_AFTER_MS. Returns
   * whether it was handled here (the language client's own window progress is then not shown too).
   */
  handle(token: ProgressToken, value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd): boolean {
    if (value.kind === "begin") {
      if (!value.cancellable) {
        return false;
      }
      const run: Run = { title: value.title, message: value.message, percentage: value.percentage ?? 0, shown: 0,
        ended: false };
      run.timer = setTimeout(() => this.show(token, run), NOTIFY_AFTER_MS);
      this.runs.set(token, run);
      return true;
    }
    const run = this.runs.get(token);
    if (!run) {
      return false;
    }
    if (value.kind === "report") {
      run.message = value.message ?? run.message;
      run.percentage = value.percentage ?? run.percentage;
      if (run.progress) {
        run.progress.report({ message: run.message, increment: Math.max(0, run.percentage - run.shown) });
        run.shown = Math.max(run.shown, run.percentage);
      }
      return true;
    }
    run.ended = true;
    clearTimeout(run.timer);
    run.finish?.();
    this.runs.delete(token);
    return true;
  }

  private show(token: ProgressToken, run: Run): void {
    if (run.ended) {
      return;
    }
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: run.title, cancellable: true },
      (progress, cancel) => {
        run.progress = progress;
        run.shown = run.percentage;
        progress.report({ message: run.message, increment: run.percentage });
        cancel.onCancellationRequested(() => {
          void this.client()?.sendNotification(WorkDoneProgressCancelNotification.type, { token });
        });
        return new Promise<void>((resolve) => {
          run.finish = resolve;
          if (run.ended) {
            resolve();
          }
        });
      });
  }

  dispose(): void {
    for (const run of this.runs.values()) {
      clearTimeout(run.timer);
      run.finish?.();
    }
    this.runs.clear();
  }
}
