import assert from "node:assert/strict";
import { test } from "node:test";
import { hasLocalFolder, needsRestart, readSettings, resolveServerCommand, Settings, toInitializationOptions } from "../../src/settings";

function config(values: Record<string, unknown>) {
  return { get: <T>(key: string, fallback: T): T => (key in values ? (values[key] as T) : fallback) };
}

test("defaults send only the model", () => {
  assert.deepEqual(toInitializationOptions(readSettings(config({}))), { model: "int8" });
});

test("settings become initializationOptions", () => {
  const s = readSettings(config({ model: "fp32", exclude: ["vendor/"], maxFileBytes: 5000, cacheDir: "/tmp/c" }));
  assert.deepEqual(toInitializationOptions(s), { model: "fp32", exclude: ["vendor/"], maxFileBytes: 5000, cacheDir: "/tmp/c" });
});

test("the shared cache and the rescan interval reach the server", () => {
  const s = readSettings(config({ sharedCache: "postgresql://patina@db/patina", rescanInterval: 0 }));
  assert.deepEqual(toInitializationOptions(s), { model: "int8", sharedCache: "postgresql://patina@db/patina",
    rescanInterval: 0 });
});

test("the server options users ask for are settings", () => {
  const s = readSettings(config({ maxUnits: 1000, indexThreads: 1, indexOnStartup: false }));
  assert.deepEqual(toInitializationOptions(s), { model: "int8", maxUnits: 1000, indexThreads: 1, indexOnStartup: false });
});

test("only a window with a folder on disk starts the server", () => {
  assert.equal(hasLocalFolder(undefined), false);
  assert.equal(hasLocalFolder([]), false);
  assert.equal(hasLocalFolder([{ uri: { scheme: "vscode-vfs" } }]), false);
  assert.equal(hasLocalFolder([{ uri: { scheme: "vscode-vfs" } }, { uri: { scheme: "file" } }]), true);
});

test("only server settings need a restart", () => {
  const a: Settings = readSettings(config({}));
  assert.equal(needsRestart(a, { ...a, model: "fp32" }), false);
  assert.equal(needsRestart(a, { ...a, serverCommand: ["x"] }), true);
  assert.equal(needsRestart(a, { ...a, trace: "verbose" }), false); // set on the running client
});

test("server discovery order: setting, PATH, python setting, Python extension", () => {
  const none = () => undefined;
  assert.deepEqual(resolveServerCommand({ configured: ["/opt/patina", "lsp"], python: "", findOnPath: () => "/bin/patina" }),
    { command: "/opt/patina", args: ["lsp"], source: "the patina.server.command setting" });
  assert.deepEqual(resolveServerCommand({ configured: [], python: "/py", findOnPath: () => "/bin/patina" }),
    { command: "/bin/patina", args: ["lsp"], source: "PATH" });
  assert.deepEqual(resolveServerCommand({ configured: [], python: "/py", pythonFromExtension: "/ext", findOnPath: none }),
    { command: "/py", args: ["-m", "patina_lsp", "lsp"], source: "the patina.server.python setting" });
  assert.deepEqual(resolveServerCommand({ configured: [], python: "", pythonFromExtension: "/ext", findOnPath: none }),
    { command: "/ext", args: ["-m", "patina_lsp", "lsp"], source: "the Python extension's interpreter" });
  const missing = resolveServerCommand({ configured: [], python: "", findOnPath: none });
  assert.ok("error" in missing && /pip install patina-lsp/.test(missing.error));
});
