// End-to-end: install the built .vsix into a real VS Code (code-server), drive it with Chromium,
// run "Patina: Semantic Search" from the command palette, type a query, check the expected symbol
// appears, press Enter and check the file opens. Prints a JSON report; exits non-zero on failure.
//
//   node run.mjs --vsix ../patina.vsix --workspace DIR --server '["python3","-m","patina_lsp","lsp"]'
//                --query "compute a checksum" --expect checksum --expect-file a.c --screenshot out.png
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
  server = spawn(codeServer, ["--config", "/dev/null", "--bind-addr", `127.0.0.1:${port}`, "--auth", "none",
    "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust", "--user-data-dir", userData,
    "--extensions-dir", extensions, path.resolve(args.workspace)], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
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
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(args.workspace))}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60_000 });

  step("wait for the Patina status bar item to say the index is ready");
  const statusText = await waitFor("Patina status bar ready", async () => {
    const texts = await page.locator(".statusbar-item").allInnerTexts();
    return texts.find((t) => /Patina: [\d,]+ units/.test(t));
  }, 180_000, 500);
  report.statusBar = statusText.trim();

  step("run Patina: Semantic Search from the command palette");
  await waitFor("the command in the palette", async () => {
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

  step(`type "${args.query}"`);
  const input = page.locator(".quick-input-widget input");
  await input.pressSequentially(args.query, { delay: 20 });
  const rows = await waitFor("results in the QuickPick", async () => {
    const texts = await page.locator(".quick-input-list .monaco-list-row").allInnerTexts();
    return texts.length > 0 && texts.some((t) => t.includes(args.expect)) ? texts : undefined;
  }, 30_000, 300);
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
  report.error = String(err && err.stack ? err.stack : err);
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
