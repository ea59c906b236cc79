"""Search latency while another thread holds the GIL, by the interpreter's switch interval.

    python tests/benchmarks/gil_switch.py [--set django] [--work /tmp/patina-eval] [--intervals 0.005 0.0005]

Indexing's first phase (extraction: tree-sitter and Python, the GIL held most of the time) runs
beside searches. A search gives the GIL up many times (onnxruntime, hnswlib and numpy release it)
and waits to get it back each time; the wait is up to the switch interval (5 ms by default). This
indexes a dev set in process (vectors cached by text, as embed_texts.py does), starts a thread
that extracts the pallets corpus in a loop, and times long queries (phases.long_queries) the way
the server runs them (vector on a second thread, lexical side meanwhile, then candidates and
fusion), alternating the switch intervals in rounds of 50 queries. The language server sets the
interval it chose (cli.SWITCH_INTERVAL).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from patina_lsp.index.symbols import extract_units
from patina_lsp.index.search import SearchQuery
from patina_lsp.index.workspace import open_index

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_texts import CachedEmbedder, int8_embedder  # noqa: E402
from phases import long_queries, percentile  # noqa: E402
from quality import build  # noqa: E402
from sysinfo import cpu_line  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="django")
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--intervals", nargs="+", type=float, default=[0.005, 0.0005])
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    print(cpu_line())
    embedder = int8_embedder()
    work = Path(args.work)
    target = build(args.set, work)
    hog_corpus = build("pallets", work) / "corpus"
    sources = [(str(p), p.read_text(errors="replace")) for p in sorted(hog_corpus.rglob("*.py"))]
    cached = CachedEmbedder(embedder, work / f"vectors-{args.set}.npz")
    queries = long_queries([json.loads(line)["query"] for line in open(target / "queries.jsonl")][:200])
    tmp = Path(tempfile.mkdtemp(prefix="patina-gil-"))
    stop = threading.Event()

    def extract_forever() -> None:
        while not stop.is_set():
            for path, text in sources:
                extract_units(path, "python", text)
                if stop.is_set():
                    return

    try:
        index = open_index(target / "corpus", cached, tmp)
        index.update()
        cached.save()
        pool = ThreadPoolExecutor(1)
        threading.Thread(target=extract_forever, daemon=True).start()
        times: dict[float, list[float]] = {iv: [] for iv in args.intervals}
        per_round = len(queries) // args.rounds
        for r in range(args.rounds):
            for interval in args.intervals:
                sys.setswitchinterval(interval)
                for text in queries[r * per_round:(r + 1) * per_round]:
                    t0 = time.perf_counter()
                    query = SearchQuery(text, 10)
                    vector = pool.submit(embedder.embed_query, text)
                    index.searcher().search(query, vector)
                    times[interval].append((time.perf_counter() - t0) * 1000)
        stop.set()
        index.store.close()
    finally:
        stop.set()
        sys.setswitchinterval(0.005)
        shutil.rmtree(tmp, ignore_errors=True)
    base = args.intervals[0]
    print(f"{args.set}: long queries while a thread extracts; ms")
    for interval, values in times.items():
        ratio = percentile(values, 0.99) / percentile(times[base], 0.99)
        print(f"  switch interval {interval * 1000:5.2f} ms: p50 {percentile(values, 0.5):6.1f}  "
              f"p90 {percentile(values, 0.9):6.1f}  p99 {percentile(values, 0.99):6.1f}  (p99 {ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
