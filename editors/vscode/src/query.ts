// Parsing what the user types in the search box: `lang:` and `kind:` prefixes become filters.

export interface ParsedQuery {
  text: string;
  languages: string[];
  kinds: string[];
}

const LANGUAGE_ALIASES: Record<string, string> = {
  py: "python", js: "javascript", ts: "typescript", rs: "rust", rb: "ruby", golang: "go",
  "c++": "cpp", cxx: "cpp", md: "markdown", cs: "csharp", "c#": "csharp",
};

/** `lang:py kind:function parse headers` -> { text: "parse headers", languages: ["python"], kinds: ["function"] }. */
export function parseQuery(input: string): ParsedQuery {
  const languages: string[] = [];
  const kinds: string[] = [];
  const words: string[] = [];
  for (const word of input.trim().split(/\s+/)) {
    const match = /^(lang|language|kind):(.+)$/i.exec(word);
    if (!match) {
      if (word) {
        words.push(word);
      }
      continue;
    }
    const values = match[2].split(",").map((v) => v.trim().toLowerCase()).filter((v) => v.length > 0);
    if (match[1].toLowerCase() === "kind") {
      kinds.push(...values);
    } else {
      languages.push(...values.map((v) => LANGUAGE_ALIASES[v] ?? v));
    }
  }
  return { text: words.join(" "), languages: unique(languages), kinds: unique(kinds) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
