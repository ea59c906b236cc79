import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuery } from "../../src/query";

test("plain text has no filters", () => {
  assert.deepEqual(parseQuery("  parse http   headers "), { text: "parse http headers", languages: [], kinds: [] });
});

test("lang: and kind: prefixes become filters, with aliases and commas", () => {
  assert.deepEqual(parseQuery("lang:py,ts kind:function parse headers kind:Method"), {
    text: "parse headers", languages: ["python", "typescript"], kinds: ["function", "method"],
  });
});

test("a filter alone leaves no text to search", () => {
  assert.equal(parseQuery("lang:go").text, "");
});

test("words that only contain a colon are text", () => {
  assert.equal(parseQuery("std::vector resize").text, "std::vector resize");
});
