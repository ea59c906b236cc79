"""Retrieval quality through the language server, on the dev sets of ../shared/eval.

    python tests/benchmarks/quality.py [--sets pallets django] [--work /tmp/patina-eval] [--options JSON]

Builds each set once (sphinx_queries.py: Debian packages of real projects and their maintainers'
reference docs), then runs search_eval.py, which starts `patina lsp`, waits for `ready` and sends
every query as patina/search. Prints one row per set: MRR@10, R@1, R@10, related MRR, latency,
time to ready (cold: a fresh cache; warm: the same cache again).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sysinfo import cpu_line  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EVAL = REPO.parent / "shared" / "eval"


def build(name: str, work: Path) -> Path:
    target = work / name
    if not (target / "queries.jsonl").is_file():
        subprocess.run([sys.executable, str(EVAL / "sphinx_queries.py"), name, str(target)], check=True)
    return target


def evaluate(target: Path, options: dict) -> dict:
    cmd = [sys.executable, str(EVAL / "search_eval.py"), "--server", f"{sys.executable} -m patina_lsp lsp",
           "--corpus", str(target / "corpus"), "--queries", str(target / "queries.jsonl"),
           "--related", str(target / "related.jsonl"), "--options", json.dumps(options)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--options", default="{}", help="initializationOptions, e.g. '{\"model\": \"fp32\"}'")
    ap.add_argument("--keep-cache", action="store_true", help="reuse the cache of an earlier run (no cold run)")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    work = Path(args.work)
    print(f"{'set':8} {'queries':>7} {'MRR@10':>7} {'R@1':>6} {'R@10':>6} {'rel MRR':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'cold s':>7} {'warm s':>7} {'units':>7}")
    for name in args.sets:
        target = build(name, work)
        cache = work / f"cache-{name}"
        if not args.keep_cache:
            shutil.rmtree(cache, ignore_errors=True)
        options = {"cacheDir": str(cache), **json.loads(args.options)}
        cold = evaluate(target, options)
        warm = evaluate(target, options)
        print(f"{name:8} {cold['queries']:7d} {cold['mrr@10']:7.4f} {cold['r@1']:6.3f} {cold['r@10']:6.3f} "
              f"{cold.get('related_mrr@10', 0):7.4f} {warm['latency_ms_p50']:7.2f} {warm['latency_ms_p99']:7.2f} "
              f"{cold['ready_s']:7.1f} {warm['ready_s']:7.2f} {cold['status']['units']:7d}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
