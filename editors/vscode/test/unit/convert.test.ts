import assert from "node:assert/strict";
import { test } from "node:test";
import { itemToLocation, itemToPick, phaseOf, statusText } from "../../src/convert";
import type { Item } from "../../src/protocol";

const item: Item = {
  uri: "file:///ws/src/http.py",
  range: { start: { line: 9, character: 0 }, end: { line: 20, character: 0 } },
  selectionRange: { start: { line: 10, character: 4 }, end: { line: 10, character: 22 } },
  name: "parse_http_headers", kind: "method", symbolKind: 6, container: "Request", language: "python",
  score: 0.9, preview: "\ndef parse_http_headers(raw: bytes) -> dict\n    more",
};

test("a result becomes a QuickPick row: icon + name, container and path:line, preview", () => {
  assert.deepEqual(itemToPick(item, "src/http.py"), {
    label: "$(symbol-method) parse_http_headers",
    description: "Request · src/http.py:10",
    detail: "def parse_http_headers(raw: bytes) -> dict",
  });
  const { container: _unused, ...bare } = item;
  void _unused;
  assert.equal(itemToPick({ ...bare, symbolKind: 999 }, "a.py").label, "$(symbol-misc) parse_http_headers");
  assert.equal(itemToPick({ ...bare, symbolKind: 5 }, "a.py").description, "a.py:10");
});

test("a result's location is its name", () => {
  assert.deepEqual(itemToLocation(item), { uri: item.uri, line: 10, character: 4, endLine: 10, endCharacter: 22 });
});

test("status bar text", () => {
  assert.equal(statusText("indexing", 0, 41), "$(sync~spin) Patina: indexing 41%");
  assert.equal(statusText("ready", 12345), "$(search) Patina: 12,345 units");
  assert.equal(statusText("error", 0), "$(error) Patina: error");
  assert.equal(statusText("indexing", 0, 41, "semantic"), "$(sync~spin) Patina: indexing 41% (semantic)");
});

test("indexing phase from a progress message", () => {
  assert.equal(phaseOf("lexical: 120/900 files"), "lexical");
  assert.equal(phaseOf("semantic: 5,600/13,700 units, about 3 min left"), "semantic");
  assert.equal(phaseOf("1,234 units in 90 files"), undefined);
  assert.equal(phaseOf(undefined), undefined);
});
