// Settings -> initializationOptions and the server command (pure functions, unit-tested).

export interface Settings {
  serverCommand: string[];
  serverPython: string;
  model: string;
  exclude: string[];
  maxFileBytes: number;
  cacheDir: string;
  sharedCache: string;
  rescanInterval: number;
  maxUnits: number;
  indexThreads: number;
  indexOnStartup: boolean;
  trace: "off" | "messages" | "verbose";
}

export interface ConfigurationLike {
  get<T>(section: string, defaultValue: T): T;
}

export function readSettings(config: ConfigurationLike): Settings {
  return {
    serverCommand: config.get<string[]>("server.command", []),
    serverPython: config.get<string>("server.python", ""),
    model: config.get<string>("model", "int8"),
    exclude: config.get<string[]>("exclude", []),
    maxFileBytes: config.get<number>("maxFileBytes", 1_000_000),
    cacheDir: config.get<string>("cacheDir", ""),
    sharedCache: config.get<string>("sharedCache", ""),
    rescanInterval: config.get<number>("rescanInterval", 60),
    maxUnits: config.get<number>("maxUnits", 500_000),
    indexThreads: config.get<number>("indexThreads", 0),
    indexOnStartup: config.get<boolean>("indexOnStartup", true),
    trace: config.get<"off" | "messages" | "verbose">("trace.server", "off"),
  };
}

/** The server's initializationOptions (section `patina`): only what differs from the server's defaults. */
export function toInitializationOptions(settings: Settings): Record<string, unknown> {
  const options: Record<string, unknown> = { model: settings.model };
  if (settings.exclude.length > 0) {
    options.exclude = settings.exclude;
  }
  if (settings.maxFileBytes !== 1_000_000) {
    options.maxFileBytes = settings.maxFileBytes;
  }
  if (settings.cacheDir) {
    options.cacheDir = settings.cacheDir;
  }
  if (settings.sharedCache) {
    options.sharedCache = settings.sharedCache;
  }
  if (settings.rescanInterval !== 60) {
    options.rescanInterval = settings.rescanInterval;
  }
  if (settings.maxUnits !== 500_000) {
    options.maxUnits = settings.maxUnits;
  }
  if (settings.indexThreads > 0) {
    options.indexThreads = settings.indexThreads;
  }
  if (!settings.indexOnStartup) {
    options.indexOnStartup = false;
  }
  return options;
}

/** Whether a window has something for the server to index: a workspace folder on disk (`file:`). */
export function hasLocalFolder(folders: readonly { uri: { scheme: string } }[] | undefined): boolean {
  return (folders ?? []).some((folder) => folder.uri.scheme === "file");
}

/** Settings whose change needs a new server (the rest are sent as configuration; the trace is set live). */
export function needsRestart(before: Settings, after: Settings): boolean {
  return JSON.stringify([before.serverCommand, before.serverPython]) !==
    JSON.stringify([after.serverCommand, after.serverPython]);
}

export interface ServerCommand {
  command: string;
  args: string[];
  source: string;
}

export interface Discovery {
  configured: string[];
  python: string;
  pythonFromExtension?: string;
  findOnPath(name: string): string | undefined;
}

/** Where to find the server: the setting, then `patina` on PATH, then `python -m patina_lsp`. */
export function resolveServerCommand(d: Discovery): ServerCommand | { error: string } {
  if (d.configured.length > 0) {
    return { command: d.configured[0], args: d.configured.slice(1), source: "the patina.server.command setting" };
  }
  const onPath = d.findOnPath("patina");
  if (onPath) {
    return { command: onPath, args: ["lsp"], source: "PATH" };
  }
  const python = d.python || d.pythonFromExtension;
  if (python) {
    return { command: python, args: ["-m", "patina_lsp", "lsp"],
      source: d.python ? "the patina.server.python setting" : "the Python extension's interpreter" };
  }
  return {
    error: "Patina server not found: patina.server.command is empty, `patina` is not on PATH, and no Python " +
      "interpreter is configured (patina.server.python or the Python extension). Install it with " +
      "`pip install patina-lsp` and set patina.server.command if it is not on PATH.",
  };
}
