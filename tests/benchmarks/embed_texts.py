"""What to embed per unit: texts and tokens per unit, and what each choice does to retrieval quality.

    python tests/benchmarks/embed_texts.py [--sets pallets django] [--policies all-windows summary ...]
                                           [--work /tmp/patina-eval] [--count-only DIR ...] [--model code]

For each development set of ../shared/eval (built as quality.py builds them) and each text policy
of server/patina_lsp/index/chunks.py (POLICIES), indexes the corpus in process and prints texts and
tokens embedded per unit and MRR@10 / R@10 on the tuning three quarters of the queries and on the
held-out quarter (a query is held out when a hash of its text is 0 mod 4). Vectors are a pure
function of their text (embedder.py), so they are cached on disk by text and shared between
policies: only the first policy that needs a text pays for it. Time per policy is therefore not
measured here; tokens are what embedding time follows (see index.py / phases.py for time).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from patina_lsp.embedding import Embedder, model_files
from patina_lsp.embedding.build import ensure_models
from patina_lsp.index import chunks
from patina_lsp.index.search import SearchQuery
from patina_lsp.index.workspace import WorkspaceIndex, open_index

sys.path.insert(0, str(Path(__file__).parent))
from quality import build, held_out  # noqa: E402
from sysinfo import cpu_line  # noqa: E402


def int8_embedder(choice: str = "int8") -> Embedder:
    """The default (INT8) model, or another choice, built by the project's pipeline if it is not there yet."""
    files = model_files()
    ensure_models(files, choice)
    return Embedder(files, choice)


class CachedEmbedder:
    """The real embedder behind a disk cache of text -> vector (exact: one text per run). The file
    records which model build made its vectors (Embedder.identity); a cache from another build (a
    new delta for the code model, a rebuilt file) is dropped, never mixed in."""

    def __init__(self, inner: Embedder, path: Path):
        self.inner, self.path, self.variant, self.spec = inner, path, inner.variant, inner.spec
        self.identity = str(inner.identity)
        self.cache: dict[str, np.ndarray] = {}
        if path.is_file():
            data = np.load(path)
            if "identity" in data.files and str(data["identity"]) == self.identity:
                self.cache = dict(zip(data["keys"].tolist(), data["vectors"]))
            else:
                print(f"{path}: vectors of another model build, embedding again", flush=True)
        self.misses = 0
        self.seconds = 0.0

    def _key(self, text: str) -> str:
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def embed(self, texts, cancelled=None):
        keys = [self._key(t) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self.cache]
        if todo:
            t0 = time.perf_counter()
            vectors = self.inner.embed([texts[i] for i in todo], cancelled)
            self.seconds += time.perf_counter() - t0
            self.misses += len(todo)
            for i, v in zip(todo, vectors):
                self.cache[keys[i]] = v
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_document(self, text):
        return self.inner.embed_document(text)

    def count_tokens(self, texts):
        return self.inner.count_tokens(texts)

    def save(self) -> None:
        keys = list(self.cache)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.cache[k] for k in keys]),
                 identity=np.array(self.identity))


@contextmanager
def indexed(corpus: Path, embedder, prefix: str, **options) -> Iterator[WorkspaceIndex]:
    """`corpus` indexed in process into a throwaway store, removed afterwards (`options` go to
    open_index); a CachedEmbedder's new vectors are saved to its file at once."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        index = open_index(corpus, embedder, tmp, **options)
        index.update()
        if isinstance(embedder, CachedEmbedder):
            embedder.save()
        yield index
        index.store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def hit(result, targets) -> bool:
    line = result.unit.span.start_line + 1
    return any(t["path"] == result.unit.path and t["start"] <= line <= t["def"] for t in targets)


def texts_and_tokens(units, policy: str, embedder) -> tuple[list[str], int]:
    """The texts `policy` embeds for `units`, and their tokens in all."""
    texts = [t for u in units for t in chunks.POLICIES[policy](u, embedder.count_tokens)]
    return texts, sum(embedder.count_tokens(texts))


def score(index, queries) -> dict:
    parts = {"tune": [], "held-out": []}
    for q in queries:
        results = [r for _, r in index.searcher().search(SearchQuery(q["query"], 10))]
        rank = next((i + 1 for i, r in enumerate(results) if hit(r, q["targets"])), None)
        parts["held-out" if held_out(q["query"]) else "tune"].append(1 / rank if rank else 0.0)
    return {name: (float(np.mean(rr)), float(np.mean([r > 0 for r in rr])), len(rr)) for name, rr in parts.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=["pallets", "django"])
    ap.add_argument("--policies", nargs="+", default=list(chunks.POLICIES))
    ap.add_argument("--work", default="/tmp/patina-eval")
    ap.add_argument("--model", default="int8", help="model choice (embedding/models.py)")
    ap.add_argument("--count-only", nargs="*", default=[], metavar="DIR",
                    help="also count texts and tokens per unit (no embedding, no queries) for these folders")
    args = ap.parse_args()
    print(cpu_line())
    embedder = int8_embedder(args.model)
    print(f"model: {args.model}")
    work = Path(args.work)
    print(f"{'set':8} {'policy':20} {'texts/unit':>10} {'tokens/unit':>11} {'MRR tune':>8} {'R@10 tune':>9} "
          f"{'MRR held':>8} {'R@10 held':>9}")
    for folder in args.count_only:
        tmp = Path(tempfile.mkdtemp(prefix="patina-texts-"))
        try:
            index = open_index(Path(folder), embedder, tmp)
            index.extract_files(index.plan().changed)
            units = [u for _, u in index.searcher().units()]
            for policy in args.policies:
                texts, tokens = texts_and_tokens(units, policy, embedder)
                print(f"{Path(folder).name:8} {policy:20} {len(texts) / len(units):10.2f} {tokens / len(units):11.1f} "
                      f"(counted only: {len(units):,} units)", flush=True)
            index.store.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    for name in args.sets:
        target = build(name, work)
        queries = [json.loads(line) for line in open(target / "queries.jsonl")]
        vectors = f"vectors-{name}.npz" if args.model == "int8" else f"vectors-{args.model}-{name}.npz"
        cached = CachedEmbedder(embedder, work / vectors)
        for policy in args.policies:
            with indexed(target / "corpus", cached, "patina-texts-", texts=chunks.POLICIES[policy]) as index:
                units = [u for _, u in index.searcher().units()]
                texts, tokens = texts_and_tokens(units, policy, embedder)
                s = score(index, queries)
            (mt, rt, _), (mh, rh, _) = s["tune"], s["held-out"]
            print(f"{name:8} {policy:20} {len(texts) / len(units):10.2f} {tokens / len(units):11.1f} "
                  f"{mt:8.4f} {rt:9.3f} {mh:8.4f} {rh:9.3f}", flush=True)
        print(f"{name}: {cached.misses:,} texts embedded in {cached.seconds:.0f} s this run "
              f"({cached.misses / max(cached.seconds, 1e-9):.1f} texts/s); queries tune/held-out = "
              f"{s['tune'][2]}/{s['held-out'][2]}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
