// Starting, stopping and restarting the Patina language server.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  LanguageClient, LanguageClientOptions, RevealOutputChannelOn, ServerOptions, State, Trace,
} from "vscode-languageclient/node";
import { IndexingNotifications } from "./progress";
import { readSettings, resolveServerCommand, Settings, toInitializationOptions } from "./settings";
import { StatusBar } from "./statusBar";

/**
 * A language client that, until its server has run once, writes its errors to the output channel
 * without a popup of its own: a failed start then shows one message, ours, with the actions that
 * fix it. Later errors (a server that keeps crashing) notify as usual.
 */
class StartingQuietlyClient extends LanguageClient {
  starting = true;

  error(message: string, data?: unknown, showNotification?: boolean | "force"): void {
    super.error(message, data, this.starting ? false : showNotification);
  }
}

export class PatinaClient implements vscode.Disposable {
  client: LanguageClient | undefined;
  settings: Settings;
  private readonly output: vscode.OutputChannel;
  private readonly trace: vscode.OutputChannel;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly notifications = new IndexingNotifications(() => this.client);

  constructor(readonly statusBar: StatusBar) {
    this.output = vscode.window.createOutputChannel("Patina");
    this.trace = vscode.window.createOutputChannel("Patina Trace");
    this.settings = readSettings(vscode.workspace.getConfiguration("patina"));
  }

  showOutput(): void {
    this.output.show(true);
  }

  log(message: string): void {
    this.output.appendLine(`[${new Date().toISOString()}] ${message}`);
  }

  /** The running client, starting it if needed; undefined when the server cannot start. */
  async get(): Promise<LanguageClient | undefined> {
    if (this.client && this.client.state === State.Running) {
      return this.client;
    }
    if (!this.starting) {
      this.starting = this.start().finally(() => { this.starting = undefined; });
    }
    return this.starting;
  }

  private async pythonFromExtension(): Promise<string | undefined> {
    const python = vscode.extensions.getExtension("ms-python.python");
    try {
      if (python) {
        const api = python.isActive ? python.exports : await python.activate();
        const env = api?.environments?.getActiveEnvironmentPath?.();
        if (env?.path) {
          return env.path as string;
        }
      }
    } catch (err) {
      this.log(`could not ask the Python extension for its interpreter: ${String(err)}`);
    }
    return undefined;
  }

  async start(): Promise<LanguageClient | undefined> {
    this.settings = readSettings(vscode.workspace.getConfiguration("patina"));
    const resolved = resolveServerCommand({
      configured: this.settings.serverCommand,
      python: this.settings.serverPython,
      pythonFromExtension: await this.pythonFromExtension(),
      findOnPath: findOnPath,
    });
    if ("error" in resolved) {
      this.fail(resolved.error, `PATH=${process.env.PATH ?? ""}`);
      return undefined;
    }
    this.log(`starting ${resolved.command} ${resolved.args.join(" ")} (from ${resolved.source})`);
    const serverOptions: ServerOptions = {
      command: resolved.command, args: resolved.args, options: { env: { ...process.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      initializationOptions: toInitializationOptions(this.settings),
      outputChannel: this.output,
      traceOutputChannel: this.trace,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      synchronize: { configurationSection: "patina" },
      // $/progress: the status bar always; indexing (cancellable) in VS Code's notification with its
      // Cancel button once it lasts; anything else in the language client's own window progress
      middleware: {
        handleWorkDoneProgress: (token, params, next) => {
          this.statusBar.progress(params);
          if (!this.notifications.handle(token, params)) {
            next(token, params);
          }
        },
      },
      initializationFailedHandler: (error) => {
        initializeError = `the Patina server failed to initialize: ${String(error)}`;
        return false;
      },
    };
    let initializeError: string | undefined;
    const client = new StartingQuietlyClient("patina", "Patina", serverOptions, clientOptions);
    // quiet until it has run once: a start that fails may be retried by the client itself
    const ran = client.onDidChangeState((e) => {
      if (e.newState === State.Running) {
        client.starting = false;
        ran.dispose();
      }
    });
    try {
      await client.start();
    } catch (err) {
      this.fail(initializeError ?? `the Patina server could not be started with ${resolved.command} ` +
        `${resolved.args.join(" ")}: ${String(err)}`);
      await client.dispose().catch(() => undefined);
      return undefined;
    }
    await client.setTrace(Trace.fromString(this.settings.trace));
    // every state change, including the client restarting a crashed server by itself
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) {
        this.statusBar.stopped();
      } else if (e.newState === State.Starting) {
        this.statusBar.starting();
      } else if (e.newState === State.Running) {
        this.statusBar.started(client);
      }
    });
    this.client = client;
    this.statusBar.started(client);
    return client;
  }

  private fail(message: string, details?: string): void {
    this.log(message);
    if (details) {
      this.log(details);
    }
    this.statusBar.failed(message);
    void vscode.window.showErrorMessage(message, "Open Settings", "Show Output").then((choice) => {
      if (choice === "Open Settings") {
        void vscode.commands.executeCommand("workbench.action.openSettings", "patina.server");
      } else if (choice === "Show Output") {
        this.output.show(true);
      }
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      await client.stop().catch((err) => this.log(`stopping the server: ${String(err)}`));
    }
  }

  /** Change the protocol trace of the running client (no restart needed). */
  async setTrace(trace: Settings["trace"]): Promise<void> {
    this.settings = { ...this.settings, trace };
    await this.client?.setTrace(Trace.fromString(trace));
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.get();
  }

  dispose(): void {
    this.notifications.dispose();
    void this.stop();
    this.output.dispose();
    this.trace.dispose();
  }
}

/** An executable named `name` in one of PATH's folders. */
export function findOnPath(name: string): string | undefined {
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD").split(";") : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) {
          return candidate;
        }
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
