"""Retrieval quality through the language server, on the dev sets of ../shared/eval.

    python tests/benchmarks/quality.py [--sets pallets django rust-nodoc npm-nodoc] [--work /tmp/patina-eval]
                                       [--options JSON]

Builds each set once (pallets, django: sphinx_queries.py, Debian packages of real projects and
their maintainers' reference docs; rust-nodoc, npm-nodoc, java-nodoc, c-nodoc: code_only_sets.py, code with every doc
comment removed and its first sentence as the query; c-docs: c-nodoc's queries on the code with its
docs; NAME-nodoc: strip_docs.py), then runs
search_eval.py, which starts `patina lsp`, waits for `ready` and sends every query as
patina/search. Prints one row per set: MRR@10, R@1, R@10, related MRR, latency, time to ready
(cold: no store for this model yet; warm: the same store again), then the tuning three quarters and the
held-out quarter apart (warm runs): nothing was chosen on the held-out quarter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.embedding.files import default_variant  # noqa: E402
from patina_lsp.embedding.models import store_key  # noqa: E402
from patina_lsp.index.store import store_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EVAL = REPO.parent / "shared" / "eval"


def build(name: str, work: Path) -> Path:
    """A set by name: pallets and django from ../shared/eval; rust-nodoc, npm-nodoc, java-nodoc, c-nodoc
    and c-docs from code_only_sets.py; NAME-nodoc as NAME with its docstrings removed (strip_docs.py)."""
    target = work / name
    if (target / "queries.jsonl").is_file():
        return target
    if name in ("rust-nodoc", "npm-nodoc", "java-nodoc", "c-nodoc"):
        subprocess.run([sys.executable, str(HERE / "code_only_sets.py"), name.split("-")[0], str(target)], check=True)
    elif name == "c-docs":
        subprocess.run([sys.executable, str(HERE / "code_only_sets.py"), "c", str(target), "--keep-docs"], check=True)
    elif name.endswith("-nodoc"):
        source = build(name[: -len("-nodoc")], work)
        subprocess.run([sys.executable, str(HERE / "strip_docs.py"), str(source), str(target)], check=True)
    else:
        subprocess.run([sys.executable, str(EVAL / "sphinx_queries.py"), name, str(target)], check=True)
    return target


def model_store(cache: Path, target: Path, options: dict) -> Path:
    """The store the server keeps for this set's corpus and model in `cache`: a cold run removes it and
    leaves other models' stores where they are (related_paired.py compares two models on them)."""
    return store_dir(cache, target / "corpus", store_key(options.get("model") or default_variant()))


def held_out(query: str) -> bool:
    """A quarter of every set's queries, never used to choose anything (ranking.py, embed_texts.py)."""
    return int(hashlib.sha256(query.encode()).hexdigest(), 16) % 4 == 0


def split(target: Path, into: Path) -> dict[str, Path]:
    queries = [line for line in (target / "queries.jsonl").read_text().splitlines(keepends=True) if line.strip()]
    parts = {"tune": [q for q in queries if not held_out(json.loads(q)["query"])],
             "held-out": [q for q in queries if held_out(json.loads(q)["query"])]}
    paths = {}
    for part, lines in parts.items():
        paths[part] = into / f"queries-{target.name}-{part}.jsonl"
        paths[part].write_text("".join(lines))
    return paths


def evaluate(target: Path, options: dict, queries: Path | None = None) -> dict:
    cmd = [sys.executable, str(EVAL / "search_eval.py"), "--server", f"{sys.executable} -m patina_lsp lsp",
           "--corpus", str(target / "corpus"), "--queries", str(queries or target / "queries.jsonl"),
           "--related", str(target / "related.jsonl"), "--options", json.dumps(options)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django", "rust-nodoc", "npm-nodoc"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--options", default="{}", help="initializationOptions, e.g. '{\"model\": \"fp32\"}'")
    ap.add_argument("--keep-cache", action="store_true", help="reuse the cache of an earlier run (no cold run)")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    work = Path(args.work)
    print(f"{'set':11} {'queries':>7} {'MRR@10':>7} {'R@1':>6} {'R@10':>6} {'rel MRR':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'cold s':>7} {'warm s':>7} {'units':>7}   {'tune MRR/R@1/R@10':>19}   {'held-out MRR/R@1/R@10':>21}")
    for name in args.sets:
        target = build(name, work)
        cache = work / f"cache-{name}"
        options = {"cacheDir": str(cache), **json.loads(args.options)}
        if not args.keep_cache:
            shutil.rmtree(model_store(cache, target, options), ignore_errors=True)
        cold = evaluate(target, options)
        parts = {part: evaluate(target, options, path) for part, path in split(target, work).items()}
        warm = parts["tune"]
        cells = "   ".join(f"{r['mrr@10']:.4f}/{r['r@1']:.3f}/{r['r@10']:.3f} (n={r['queries']})"
                           for r in parts.values())
        print(f"{name:11} {cold['queries']:7d} {cold['mrr@10']:7.4f} {cold['r@1']:6.3f} {cold['r@10']:6.3f} "
              f"{cold.get('related_mrr@10', 0):7.4f} {warm['latency_ms_p50']:7.2f} {warm['latency_ms_p99']:7.2f} "
              f"{cold['ready_s']:7.1f} {warm['ready_s']:7.2f} {cold['status']['units']:7d}   {cells}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
