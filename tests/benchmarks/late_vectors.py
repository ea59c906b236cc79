"""Does a unit found by its exact name keep its place while the other units' vectors arrive?

    python tests/benchmarks/late_vectors.py [--sets pallets django] [--orders 0 late early]

In process, on a dev set's corpus (built as quality.py builds them): the lexical phase runs whole,
then the files are embedded in ten stages (`WorkspaceIndex.embed_pending(only=...)`) in a given
order: a seeded shuffle (`0`, `1`, ...), or that shuffle with the 30 probe symbols' files last
(`late`: every other unit's vector arrives first) or first (`early`). Before each stage and after the
last, each probe's exact name is searched (hybrid, limit 10). A drop is a probe in the top 10 at
one stage and out of it at a later one. Prints drops and the probes in the top 10 at the end.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embed_texts import int8_embedder  # noqa: E402
from phases import probes  # noqa: E402
from quality import build  # noqa: E402
from sysinfo import cpu_line  # noqa: E402

from patina_lsp.index.search import SearchQuery  # noqa: E402
from patina_lsp.index.workspace import open_index  # noqa: E402

STAGES = 10


def ordered(files: list[str], probe_files: set[str], order: str) -> list[str]:
    files = list(files)
    random.Random(0 if order in ("late", "early") else int(order)).shuffle(files)
    if order == "late":
        return [f for f in files if f not in probe_files] + [f for f in files if f in probe_files]
    if order == "early":
        return [f for f in files if f in probe_files] + [f for f in files if f not in probe_files]
    return files


def run(corpus: Path, embedder, order: str) -> tuple[int, int, int, list[str]]:
    tmp = Path(tempfile.mkdtemp(prefix="patina-late-"))
    try:
        index = open_index(corpus, embedder, tmp)
        index.extract_files(index.plan().changed)
        targets = probes(corpus)
        files = ordered(index.pending_paths, {path for _, path in targets}, order)
        step = max(1, len(files) // STAGES)
        ranks: dict[str, list[int | None]] = {name: [] for name, _ in targets}
        for stage in range(STAGES + 1):
            for name, path in targets:
                results = [r for _, r in index.searcher().search(SearchQuery(name, 10))]
                ranks[name].append(next((i + 1 for i, r in enumerate(results)
                                         if r.unit.name == name and r.unit.path == path), None))
            batch = files[stage * step:(stage + 1) * step] if stage < STAGES - 1 else files[stage * step:]
            if batch:
                index.embed_pending(only=batch)
        dropped = [f"{name} {history}" for name, history in ranks.items()
                   if any(r is None and any(history[:i]) for i, r in enumerate(history))]
        index.store.close()
        return len(targets), len(dropped), sum(1 for h in ranks.values() if h[-1]), dropped
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=["pallets", "django"])
    ap.add_argument("--orders", nargs="+", default=["0", "late", "early"])
    ap.add_argument("--work", default="/tmp/patina-eval")
    args = ap.parse_args()
    print(cpu_line(), flush=True)
    embedder = int8_embedder()
    for name in args.sets:
        corpus = build(name, Path(args.work)) / "corpus"
        for order in args.orders:
            total, drops, final, dropped = run(corpus, embedder, order)
            print(f"{name:8} order {order:6} probes {total}  drops {drops}  in the top 10 at the end {final}",
                  flush=True)
            for line in dropped:
                print(f"    {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
