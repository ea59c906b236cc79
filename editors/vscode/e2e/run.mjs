// End-to-end: install the built .vsix into a real VS Code (code-server) and drive it with Chromium.
// Prints a JSON report; exits non-zero on failure. Scenarios (--scenario):
//   search (default): open --escape-from FILE, run "Patina: Semantic Search" from the command palette,
//     type a query, check the expected symbol appears (its file opens as a preview), press Escape and
//     check FILE is the active editor again; search again, press Enter and check the file opens.
//   failed-start: a server command that exits at once; exactly one Patina notification, and the
//     status bar says so.
//   no-folder: a window without a folder; the server command (which would write --marker) never runs.
//   cancel: while a large workspace indexes, the notification with its Cancel button appears; pressing
//     Cancel pauses the server (its log says so) and the status bar shows the units indexed so far.
// With --crash-match PATTERN, the search scenario first kills the server (pkill -f PATTERN) once it is
// ready and waits for the client to start a new one and the status bar to say it is ready again.
//
//   node run.mjs --vsix ../patina.vsix --workspace DIR --server '["python3","-m","patina_lsp","lsp"]'
//                --query "compute a checksum" --expect checksum --expect-file a.c --escape-from sample.py
//                --screenshot out.png
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(process.argv.slice(2).reduce((acc, cur, i, all) => {
  if (cur.startsWith("--")) acc.push([cur.slice(2), all[i + 1]]);
  return acc;
}, []));
const scenario = args.scenario ?? "search";
const codeServer = path.join(here, "node_modules", ".bin", "code-server");
const report = { steps: [] };
const step = (name) => { report.steps.push(name); console.error(`[e2e] ${name}`); };

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

async function waitFor(what, fn, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

/** The Patina status bar item's text once it shows a unit count (the server is ready). */
const statusBarUnits = (page, what, timeoutMs, intervalMs) => waitFor(what, async () => {
  const texts = await page.locator(".statusbar-item").allInnerTexts();
  return texts.find((t) => /Patina: [\d,]+ units/.test(t))?.trim();
}, timeoutMs, intervalMs);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "patina-vscode-"));
const userData = path.join(tmp, "user-data");
const extensions = path.join(tmp, "extensions");
fs.mkdirSync(path.join(userData, "User"), { recursive: true });
fs.writeFileSync(path.join(userData, "User", "settings.json"), JSON.stringify({
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "workbench.tips.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "patina.server.command": JSON.parse(args.server),
  "patina.cacheDir": path.join(tmp, "cache"),
}, null, 2));
const env = {
  ...process.env, XDG_CONFIG_HOME: path.join(tmp, "xdg-config"), XDG_DATA_HOME: path.join(tmp, "xdg-data"),
  VSCODE_CLI: "1", // keep our PATH in the extension host
};

let server;
let browser;
let exitCode = 1;
try {
  step("install the extension");
  const install = spawnSync(codeServer, ["--install-extension", path.resolve(args.vsix), "--user-data-dir", userData,
    "--extensions-dir", extensions], { env, encoding: "utf8", timeout: 120_000 });
  if (install.status !== 0) throw new Error(`--install-extension failed: ${install.stderr || install.stdout}`);
  report.installed = fs.readdirSync(extensions).filter((d) => d.startsWith("patina."));
  if (report.installed.length === 0) throw new Error("the extension is not in the extensions folder");

  const port = await freePort();
  step(`start code-server on 127.0.0.1:${port}`);
  const folder = scenario === "no-folder" ? [] : [path.resolve(args.workspace)];
  server = spawn(codeServer, ["--config", "/dev/null", "--bind-addr", `127.0.0.1:${port}`, "--auth", "none",
    "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--user-data-dir", userData,
    "--extensions-dir", extensions, ...folder], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let serverLog = "";
  server.stdout.on("data", (d) => { serverLog += d; });
  server.stderr.on("data", (d) => { serverLog += d; });
  await waitFor("/healthz", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);

  step("open the workbench in Chromium");
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(scenario === "no-folder" ? `http://127.0.0.1:${port}/?ew=true`
    : `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(args.workspace))}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });

  if (scenario === "no-folder") {
    step("wait 20 s: no server may start in a window without a folder");
    await new Promise((r) => setTimeout(r, 20_000));
    report.serverStarted = fs.existsSync(args.marker);
    report.statusBar = (await page.locator(".statusbar-item").allInnerTexts()).filter((t) => t.includes("Patina"));
    report.ok = !report.serverStarted;
    exitCode = report.ok ? 0 : 1;
    throw null;
  }
  if (scenario === "cancel") {
    step("wait for the indexing notification and press its Cancel button");
    const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "Patina: indexing" });
    await toast.first().waitFor({ state: "visible", timeout: 120_000 });
    report.notification = (await toast.first().innerText()).replace(/\s+/g, " ").trim();
    await page.screenshot({ path: args.screenshot });
    await toast.first().hover();
    await toast.first().getByRole("button", { name: "Cancel" }).click();
    report.statusBar = await statusBarUnits(page, "the status bar to show the units indexed so far", 60_000, 250);
    report.toastsAfter = await toast.count();
    report.ok = true;
    exitCode = 0;
    throw null;
  }
  if (scenario === "failed-start") {
    step("wait for the status bar to show the failure, then count the notifications");
    report.statusBar = await waitFor("Patina status bar error", async () => {
      const texts = await page.locator(".statusbar-item").allInnerTexts();
      return texts.find((t) => /Patina/.test(t) && /error|fail/i.test(t));
    }, 60_000, 500);
    await new Promise((r) => setTimeout(r, 5000)); // any late popup would show by now
    report.notifications = (await page.locator(".notifications-toasts .notification-toast").allInnerTexts())
      .map((t) => t.replace(/\s+/g, " ").trim());
    await page.screenshot({ path: args.screenshot });
    report.ok = report.notifications.filter((t) => /patina/i.test(t)).length === 1;
    exitCode = report.ok ? 0 : 1;
    throw null;
  }

  step("wait for the Patina status bar item to say the index is ready");
  report.statusBar = await statusBarUnits(page, "Patina status bar ready", 180_000, 500);

  if (args["crash-match"]) {
    step("kill the server; the client starts it again and the status bar follows");
    const pids = () => spawnSync("pgrep", ["-f", args["crash-match"]], { encoding: "utf8" }).stdout.split(/\s+/)
      .filter(Boolean);
    const before = pids();
    if (before.length === 0) throw new Error(`no server process matches ${args["crash-match"]}`);
    spawnSync("pkill", ["-9", "-f", args["crash-match"]]);
    report.restartedServer = await waitFor("a new server process", async () => {
      const now = pids();
      return now.length > 0 && now.every((pid) => !before.includes(pid)) ? now : undefined;
    }, 60_000, 250);
    report.statusAfterCrash = await statusBarUnits(page, "the status bar ready again", 120_000, 500);
  }

  const activeTab = async () => (await page.locator(".tabs-container .tab.active").first().innerText()
    .catch(() => "")).trim();
  const openSearch = () => waitFor("the command in the palette", async () => {
    await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 5000 });
    await input.fill(">Patina: Semantic Search");
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: "Patina: Semantic Search" });
    await row.first().waitFor({ state: "visible", timeout: 3000 });
    await page.keyboard.press("Enter");
    await page.locator(".quick-input-widget input[placeholder*='Describe the code']").waitFor({ timeout: 5000 });
    return true;
  }, 60_000, 1000);
  const typeQuery = async () => {
    await page.locator(".quick-input-widget input").pressSequentially(args.query, { delay: 20 });
    return waitFor("results in the QuickPick", async () => {
      const texts = await page.locator(".quick-input-list .monaco-list-row").allInnerTexts();
      return texts.length > 0 && texts.some((t) => t.includes(args.expect)) ? texts : undefined;
    }, 30_000, 300);
  };

  if (args["escape-from"]) {
    step(`open ${args["escape-from"]}, search, and press Escape on a previewed result`);
    await waitFor(`${args["escape-from"]} open`, async () => {
      await page.keyboard.press("Escape");
      await page.keyboard.press("Control+P");
      const quick = page.locator(".quick-input-widget input");
      await quick.waitFor({ state: "visible", timeout: 5000 });
      await quick.fill(args["escape-from"]);
      await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 5000 });
      await page.keyboard.press("Enter");
      return waitFor("its tab", async () => (await activeTab()).includes(args["escape-from"]), 5000, 200);
    }, 60_000, 1000);
    await openSearch();
    await typeQuery();
    report.previewTab = await waitFor("a result previewed", async () => {
      const tab = await activeTab();
      return tab && !tab.includes(args["escape-from"]) ? tab : undefined;
    }, 10_000, 200);
    await page.keyboard.press("Escape");
    report.afterEscape = await waitFor(`back in ${args["escape-from"]}`, async () => {
      const tab = await activeTab();
      return tab.includes(args["escape-from"]) ? tab : undefined;
    }, 10_000, 200);
  }

  step("run Patina: Semantic Search from the command palette");
  await openSearch();
  step(`type "${args.query}"`);
  const rows = await typeQuery();
  report.rows = rows.slice(0, 5).map((r) => r.replace(/\s+/g, " ").trim());
  report.firstRow = report.rows[0];
  await page.screenshot({ path: args.screenshot });

  step("press Enter and check the file opens");
  await page.keyboard.press("Enter");
  report.activeTab = await waitFor(`the editor tab ${args["expect-file"]}`, async () => {
    const tab = await page.locator(".tabs-container .tab.active").first().innerText().catch(() => "");
    return tab.includes(args["expect-file"]) ? tab.trim() : undefined;
  }, 20_000, 300);
  await page.screenshot({ path: args.screenshot.replace(/\.png$/, "-opened.png") });
  report.ok = true;
  exitCode = 0;
} catch (err) {
  if (err !== null) { // null: a scenario that finished early
    report.error = String(err && err.stack ? err.stack : err);
  }
} finally {
  await browser?.close().catch(() => undefined);
  if (server?.pid) {
    try { process.kill(-server.pid, "SIGKILL"); } catch { /* already gone */ }
  }
  // the extension host (and its Patina server) can outlive code-server's main process
  spawnSync("pkill", ["-9", "-f", userData]);
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(JSON.stringify(report));
  process.exit(exitCode);
}
