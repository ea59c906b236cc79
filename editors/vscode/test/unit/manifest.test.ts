// The extension manifest's security settings: what runs is chosen per machine, never by a folder.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8"));

test("settings that choose what runs or where files go are machine-scoped", () => {
  const props = manifest.contributes.configuration.properties;
  for (const key of ["patina.server.command", "patina.server.python", "patina.cacheDir", "patina.sharedCache"]) {
    assert.equal(props[key].scope, "machine", key);
  }
});

test("virtual workspaces (no files on disk) are not supported", () => {
  assert.equal(manifest.capabilities.virtualWorkspaces, false);
});

test("untrusted workspaces never start the server", () => {
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, false);
  assert.ok(manifest.capabilities.untrustedWorkspaces.description);
});

test("npm test runs the extension's tests", () => {
  assert.match(manifest.scripts.test, /node --test/);
});

test("ready to publish: an icon, a changelog, and a build before every package", () => {
  const root = path.resolve(__dirname, "../../..");
  assert.ok(fs.statSync(path.join(root, manifest.icon)).size > 0);
  assert.ok(fs.statSync(path.join(root, "CHANGELOG.md")).size > 0);
  assert.match(manifest.scripts["vscode:prepublish"], /build/);
  const shipped = fs.readFileSync(path.join(root, ".vscodeignore"), "utf8").split("\n");
  for (const file of ["CHANGELOG.md", manifest.icon, "dist/extension.js", "README.md", "LICENSE"]) {
    assert.ok(shipped.includes(`!${file}`), `${file} is packaged`);
  }
});

test("the repository, issues and home page are the project's one address, the one :help patina-install names", () => {
  const root = path.resolve(__dirname, "../../..");
  const help = fs.readFileSync(path.resolve(root, "../nvim/doc/patina.txt"), "utf8");
  const spec = /lazy\.nvim[^\n]*:\n>lua\n\s*\{\n\s*"([\w.-]+\/[\w.-]+)",/.exec(help);
  assert.ok(spec, "the lazy.nvim spec names the repository");
  const home = `https://github.com/${spec[1]}`;
  assert.equal(manifest.repository.url, `${home}.git`);
  assert.equal(manifest.bugs.url, `${home}/issues`);
  assert.equal(manifest.homepage, `${home}#readme`);
});
