"""Cold indexing as a user meets it, old code against new in one run: when every file is searchable,
when indexing ends, what it embeds, and how searches fare meanwhile and after.

    python tests/benchmarks/phases.py [--sets django kernel-mm] [--baseline REV] [--new REV] [--work /tmp/patina-eval]

For each set (a dev set of ../shared/eval built as quality.py builds it, or `kernel-mm`: the Linux
kernel's kernel/ and mm/ folders as scale.py fetches them) and each version (the git revision
`--baseline`, checked out in a temporary worktree, then `--new` likewise, or the working tree), starts `patina lsp` on
a fresh cache and measures, through stdio as an editor would:
- first full coverage: seconds from `initialize` until a search for each of 30 probe symbols
  (function names spread over the corpus; lexical mode, a round each second) has found every one
  in its top 10; and drops: a found probe searched again each round (hybrid, as users search) that
  was in its top 10 at one look and out of it at a later one;
- cold index: seconds until `ready`, and units/s; texts and tokens embedded per unit (the server's
  summary; versions before the token count print "?");
- search p50/p99 while indexing and once idle, for short queries (the set's own, or scale.py's)
  and long ones (20-40 words: two or three of the set's queries joined);
- MRR@10 on the set's queries (dev sets only), after `ready`.
Prints the CPU model and flags, one row per (set, version), and new/old ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO.parent / "shared" / "eval"))
from lspclient import LspClient  # noqa: E402
from quality import build  # noqa: E402
from scale import QUERIES as KERNEL_QUERIES, fetch  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

PROBES = 30
PROBE_EVERY = 1.0  # seconds between rounds of probe searches
_DEF = {".py": re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w{5,})\s*\(", re.M),
        ".c": re.compile(r"^[A-Za-z_][\w \*]*?\b([a-z_]\w{5,})\s*\([^;]*$", re.M)}  # a C definition's first line


def probes(corpus: Path, n: int = PROBES) -> list[tuple[str, str]]:
    """(name, relative path) of `n` functions from files spread over the corpus, names unique in it."""
    files = sorted(p for p in corpus.rglob("*") if p.suffix in (".py", ".c") and p.is_file())
    seen: dict[str, list[str]] = {}
    for f in files:
        for m in _DEF[f.suffix].finditer(f.read_text(errors="replace")):
            seen.setdefault(m.group(1), []).append(f.relative_to(corpus).as_posix())
    # multi-word identifiers defined once: a search for one has a single right answer
    unique = [(name, paths[0]) for name, paths in seen.items() if len(paths) == 1 and "_" in name.strip("_")]
    by_file: dict[str, str] = {}
    for name, path in unique:
        by_file.setdefault(path, name)
    paths = sorted(by_file)
    step = max(1, len(paths) // n)
    return [(by_file[p], p) for p in paths[::step][:n]]


def long_queries(short: list[str], n: int = 200) -> list[str]:
    """Sentence-long queries of 20-40 words, made of the short ones (deterministic)."""
    rng = random.Random(13)
    out = []
    while len(out) < n:
        words: list[str] = []
        while len(words) < 20:
            words += rng.choice(short).rstrip(".").split()
        out.append(" ".join(words[:40]))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def hit(item, targets, root: Path) -> bool:
    path = os.path.relpath(item["uri"].removeprefix("file://"), root)
    line = item["range"]["start"]["line"] + 1
    return any(t["path"] == path and t["start"] <= line <= t["def"] for t in targets)


def run_one(server: list[str], env: dict, corpus: Path, short: list[str], long: list[str],
            queries: list[dict], stderr: Path) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="patina-phases-"))
    probe_list = probes(corpus)
    client = LspClient(server, cwd=str(corpus), stderr_path=str(stderr), env=env)
    t0 = time.monotonic()
    client.initialize(str(corpus), {"cacheDir": str(cache)})
    found: dict[str, float] = {}
    shown: dict[str, bool] = {}  # a found probe: in the top 10 of a hybrid search of its name at the last look
    drops: list[str] = []  # a probe in that top 10 at one look and out of it at a later one
    during: dict[str, list[float]] = {"short": [], "long": []}
    done = threading.Event()

    def probe_loop(rounds: float = float("inf")) -> None:
        # lexical searches (no query embedding: a few ms each), every PROBE_EVERY seconds, so that
        # probing loads the server about as little in the old version (probing for minutes) as in the new
        while not done.is_set() and rounds > 0:  # (found ones are watched until the end: drops)
            rounds -= 1
            started = time.monotonic()
            for name, path in probe_list:
                if name in found:
                    # once found, it must keep its place as vectors arrive (the ranking users see: hybrid)
                    items = client.request("patina/search", {"query": name, "limit": 10}, timeout=120)["items"]
                    now = any(i["name"] == name and i["uri"].endswith("/" + path) for i in items)
                    if shown.get(name) and not now:
                        drops.append(name)
                    shown[name] = now
                    continue
                items = client.request("patina/search", {"query": name, "limit": 10, "mode": "lexical"},
                                       timeout=120)["items"]
                if any(i["name"] == name and i["uri"].endswith("/" + path) for i in items):
                    found[name] = time.monotonic() - t0
            time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))

    def load_loop() -> None:
        i = 0
        while not done.is_set():
            kind, text = ("short", short[i % len(short)]) if i % 2 == 0 else ("long", long[i % len(long)])
            t = time.perf_counter()
            result = client.request("patina/search", {"query": text, "limit": 10}, timeout=120)
            if result.get("indexing"):
                during[kind].append((time.perf_counter() - t) * 1000)
            i += 1
            time.sleep(0.25)

    threads = [threading.Thread(target=probe_loop), threading.Thread(target=load_loop)]
    for t in threads:
        t.start()
    status = {}
    while True:
        status = client.request("patina/status", {}, timeout=60)
        if status["state"] in ("ready", "error"):
            break
        time.sleep(0.5)
    cold = time.monotonic() - t0
    if status["state"] != "ready":
        done.set()
        client.shutdown()
        raise RuntimeError(f"indexing failed: {status} (server log: {stderr})")
    probe_loop(rounds=1)  # whatever the loop had not found yet, now that everything is indexed
    missing = [name for name, _ in probe_list if name not in found]
    done.set()
    for t in threads:
        t.join()
    full = max(found.values()) if len(found) == len(probe_list) else float("nan")
    ninety = sorted(found.values())[int(0.9 * len(probe_list)) - 1] if len(found) >= 0.9 * len(probe_list) else float("nan")
    embedded = tokens = None
    deadline = time.monotonic() + 30
    while embedded is None and time.monotonic() < deadline:
        for n in client.notifications:
            message = (n.get("params") or {}).get("message", "")
            found = re.search(r"([\d,]+) texts embedded(?: \(([\d,]+) tokens\))?", message)
            if n.get("method") == "window/logMessage" and found:  # the summary (tokens: since the count existed)
                embedded = int(found.group(1).replace(",", ""))
                tokens = int(found.group(2).replace(",", "")) if found.group(2) else None
        time.sleep(0.2)
    time.sleep(5)  # the server saves its graph and postings right after ready
    idle: dict[str, list[float]] = {"short": [], "long": []}
    for kind, texts in (("short", short[:200]), ("long", long[:200])):
        for text in texts:
            t = time.perf_counter()
            client.request("patina/search", {"query": text, "limit": 10}, timeout=60)
            idle[kind].append((time.perf_counter() - t) * 1000)
    rr = []
    for q in queries:
        items = client.request("patina/search", {"query": q["query"], "limit": 10}, timeout=60)["items"]
        rank = next((i + 1 for i, it in enumerate(items) if hit(it, q["targets"], corpus)), None)
        rr.append(1 / rank if rank else 0.0)
    client.shutdown()
    shutil.rmtree(cache, ignore_errors=True)
    return {"state": status["state"], "units": status["units"], "files": status["files"], "cold": cold,
            "full": full, "ninety": ninety, "missing": missing, "drops": drops, "embedded": embedded, "tokens": tokens, "mrr": statistics.mean(rr) if rr else None,
            "during": during, "idle": idle}


def baseline_tree(rev: str) -> Path:
    tree = Path(tempfile.mkdtemp(prefix="patina-baseline-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev], check=True,
                   capture_output=True)
    return tree


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["django", "kernel-mm"])
    ap.add_argument("--baseline", default=None, help="git revision to compare with (e.g. the commit before phases)")
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--new", default=None, help="git revision to measure as new (default: the working tree)")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    work = Path(args.work)
    versions: list[tuple[str, Path]] = []
    if args.baseline:
        versions.append((f"old {args.baseline[:10]}", baseline_tree(args.baseline)))
    versions.append((f"new {args.new[:10]}", baseline_tree(args.new)) if args.new else ("new (working tree)", REPO))
    models = os.environ.get("PATINA_MODEL_DIR") or str(REPO / "models")
    rows = []
    try:
        for name in args.sets:
            if name == "kernel-mm":
                corpus, queries, short = fetch(Path("/tmp/patina-scale"), ["kernel", "mm"]), [], KERNEL_QUERIES
            else:
                target = build(name, work)
                corpus = target / "corpus"
                queries = [json.loads(line) for line in open(target / "queries.jsonl")]
                short = [q["query"] for q in queries]
            long = long_queries(short)
            for label, tree in versions:
                env = {**os.environ, "PYTHONPATH": str(tree / "server"), "PATINA_MODEL_DIR": models}
                server = [sys.executable, "-m", "patina_lsp", "lsp", "--log-level", "info"]
                r = run_one(server, env, corpus, short, long, queries, work / f"phases-{name}-{len(rows)}.err")
                rows.append((name, label, r))
                d, i = r["during"], r["idle"]
                print(f"{name:9} {label:20} state {r['state']}, {r['files']:,} files, {r['units']:,} units | "
                      f"full coverage {r['full']:.1f} s (90%: {r['ninety']:.1f} s; never found: {r['missing']}; "
                      f"drops from the top 10: {len(r['drops'])} {sorted(set(r['drops']))}) | cold {r['cold']:.1f} s "
                      f"({r['units'] / r['cold']:.0f} units/s), {r['embedded'] or 0:,} texts embedded "
                      f"({(r['embedded'] or 0) / max(r['units'], 1):.2f}/unit; "
                      f"{'%.0f' % (r['tokens'] / r['units']) if r['tokens'] is not None else '?'} tokens/unit) | "
                      f"MRR@10 {r['mrr'] if r['mrr'] is not None else float('nan'):.4f} | "
                      f"idle p50/p99 short {percentile(i['short'], .5):.1f}/{percentile(i['short'], .99):.1f} ms, "
                      f"long {percentile(i['long'], .5):.1f}/{percentile(i['long'], .99):.1f} ms | "
                      f"indexing p50/p99 short {percentile(d['short'], .5):.1f}/{percentile(d['short'], .99):.1f} ms, "
                      f"long {percentile(d['long'], .5):.1f}/{percentile(d['long'], .99):.1f} ms "
                      f"({len(d['short']) + len(d['long'])} searches)", flush=True)
        if args.baseline:
            for name in args.sets:
                old, new = [r for n, _, r in rows if n == name]
                print(f"{name:9} new/old: full coverage {new['full'] / old['full']:.3f}, cold {new['cold'] / old['cold']:.3f}, "
                      f"idle p50 long {percentile(new['idle']['long'], .5) / percentile(old['idle']['long'], .5):.2f}, "
                      f"idle p99 long {percentile(new['idle']['long'], .99) / percentile(old['idle']['long'], .99):.2f}, "
                      f"indexing p99 short {percentile(new['during']['short'], .99) / percentile(old['during']['short'], .99):.2f}, "
                      f"long {percentile(new['during']['long'], .99) / percentile(old['during']['long'], .99):.2f}")
    finally:
        for label, tree in versions:
            if tree != REPO:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
