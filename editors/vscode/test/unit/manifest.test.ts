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
