// The real `patina lsp` over stdio through vscode-jsonrpc (what vscode-languageclient is built on),
// using the same protocol.ts the extension uses.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { Item, RELATED, SEARCH, SearchResult, STATUS, Status } from "../../src/protocol";

const repo = path.resolve(__dirname, "../../../../..");
const fixtures = path.join(repo, "tests", "fixtures", "langs");
const serverCommand: string[] = JSON.parse(process.env.PATINA_SERVER ?? '["patina", "lsp"]');

let server: ChildProcess;
let connection: MessageConnection;
let workspace: string;
const progress: { token: unknown; value: { kind: string; percentage?: number } }[] = [];

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), "patina-protocol-"));
  fs.cpSync(fixtures, path.join(workspace, "ws"), { recursive: true });
  server = spawn(serverCommand[0], serverCommand.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  connection = createMessageConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  connection.onRequest("window/workDoneProgress/create", () => null);
  connection.onRequest("client/registerCapability", () => null);
  connection.onNotification("$/progress", (params) => progress.push(params));
  connection.listen();
  const root = path.join(workspace, "ws");
  const uri = pathToFileURL(root).toString();
  await connection.sendRequest("initialize", {
    processId: process.pid, rootUri: uri, workspaceFolders: [{ uri, name: "ws" }],
    initializationOptions: { cacheDir: path.join(workspace, "cache") },
    capabilities: { window: { workDoneProgress: true }, workspace: { symbol: {} } },
  });
  await connection.sendNotification("initialized", {});
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await connection.sendRequest<Status>(STATUS, {});
    // The last $/progress (end) follows the indexing thread's "ready" by a moment: wait for both.
    if (status.state === "ready" && progress.some((p) => p.value.kind === "end")) {
      break;
    }
    assert.ok(Date.now() < deadline, `not ready: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await connection.sendRequest("shutdown").catch(() => undefined);
  await connection.sendNotification("exit").catch(() => undefined);
  connection.dispose();
  server.kill();
  fs.rmSync(workspace, { recursive: true, force: true });
});

test("progress was reported: begin, report, end", () => {
  const kinds = progress.map((p) => p.value.kind);
  assert.equal(kinds[0], "begin");
  assert.equal(kinds[kinds.length - 1], "end");
});

test("patina/search returns Items of the documented shape", async () => {
  const result = await connection.sendRequest<SearchResult>(SEARCH, { query: "compute a checksum of a buffer", limit: 3 });
  assert.equal(result.indexing, false);
  assert.ok(result.items.length > 0 && result.items.length <= 3);
  const first: Item = result.items[0];
  assert.equal(first.name, "checksum");
  for (const key of ["uri", "range", "selectionRange", "name", "kind", "symbolKind", "language", "score", "preview"]) {
    assert.ok(key in first, `missing ${key}`);
  }
});

test("patina/search rejects bad params with InvalidParams", async () => {
  await assert.rejects(connection.sendRequest(SEARCH, { query: "" }), (err: { code: number; message: string }) =>
    err.code === -32602 && /query is empty/.test(err.message));
});

test("patina/related", async () => {
  const uri = pathToFileURL(path.join(workspace, "ws", "sample.py")).toString();
  const result = await connection.sendRequest<SearchResult>(RELATED,
    { textDocument: { uri }, position: { line: 20, character: 8 }, limit: 5 });
  assert.ok(result.items.some((i) => i.name === "render_async"));
});

test("workspace/symbol: name matches then semantic matches", async () => {
  const symbols = await connection.sendRequest<{ name: string; location: { range: unknown } }[]>(
    "workspace/symbol", { query: "checksum" });
  assert.equal(symbols[0].name, "checksum");
  assert.ok(symbols[0].location.range);
});
