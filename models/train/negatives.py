"""Hard negatives for train.py: for each training pair, the unit of its own package that a model
ranks highest for the pair's description without being its partner.

    python models/train/negatives.py DATA [--model code]     (then: train.py DATA --hard-negatives)

Package batches already set a description against other units of its repository, but against the
ones that happen to share its batch; a hard negative is the one the model confuses it with. Ranked
with the model as Patina builds it (`--model`, INT8 by default: the code model as it ships), within
each package of DATA/train.jsonl. What is left out, since it may describe the partner as well: a unit
with the same description or the same text as the partner, and one the model finds nearly as close as
the partner (cosine over 0.95 of the partner's: a near-duplicate, an overload, a re-export).

Writes DATA/negatives.jsonl: one line per line of train.jsonl, {"negative": the line of the chosen
unit's pair, or null when the package has no other eligible unit; "score", "positive": the cosines}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from patina_lsp.embedding.build import ensure_models
from patina_lsp.embedding.embedder import Embedder
from patina_lsp.embedding.files import model_files

NEAR_PARTNER = 0.95  # a candidate this close to the partner's cosine is not taken as a negative


def choose(queries: np.ndarray, documents: np.ndarray, pairs: list[dict]) -> list[dict]:
    """For the pairs of one package (rows of `queries` and `documents` alike), each one's negative."""
    scores = queries @ documents.T
    positive = np.diag(scores).copy()
    may_be_partner = np.array([[a["query"] == b["query"] or a["document"] == b["document"] for b in pairs]
                               for a in pairs])  # its own partner too
    allowed = ~may_be_partner & (scores < NEAR_PARTNER * positive[:, None])
    masked = np.where(allowed, scores, -np.inf)
    out = []
    for i, j in enumerate(masked.argmax(axis=1)):
        found = bool(allowed[i, j])
        out.append({"negative": int(j) if found else None, "score": round(float(scores[i, j]), 4) if found else None,
                    "positive": round(float(positive[i]), 4)})
    return out


def attach(pairs: list[dict], path: Path) -> None:
    """Give each of `pairs` (train.jsonl's, in its order) the text of its negative from `path`
    (negatives.jsonl) as pair["negative"]; pairs without one are left as they are."""
    chosen = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if len(chosen) != len(pairs):
        raise SystemExit(f"{path}: {len(chosen)} lines for {len(pairs)} pairs; run negatives.py again")
    for pair, found in zip(pairs, chosen):
        if found["negative"] is not None:
            pair["negative"] = pairs[found["negative"]]["document"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="the folder mine.py wrote (train.jsonl)")
    ap.add_argument("--model", default="code", help="the model choice that ranks (embedding/models.py)")
    args = ap.parse_args()
    pairs = [json.loads(line) for line in (args.data / "train.jsonl").read_text().splitlines() if line.strip()]
    files = model_files()
    ensure_models(files, args.model)
    embedder = Embedder(files, args.model)
    started = time.time()
    queries = np.stack([embedder.embed_query(p["query"]) for p in pairs])
    print(f"{len(pairs)} descriptions embedded in {time.time() - started:.0f} s", file=sys.stderr)
    documents = np.zeros_like(queries)
    for start in range(0, len(pairs), 2000):
        documents[start:start + 2000] = embedder.embed([p["document"] for p in pairs[start:start + 2000]])
        print(f"documents {min(start + 2000, len(pairs))}/{len(pairs)} {time.time() - started:.0f} s",
              file=sys.stderr)
    by_package: dict[str, list[int]] = defaultdict(list)
    for i, pair in enumerate(pairs):
        by_package[pair.get("package", "")].append(i)
    chosen: list[dict | None] = [None] * len(pairs)
    for members in by_package.values():
        for i, found in zip(members, choose(queries[members], documents[members], [pairs[m] for m in members])):
            if found["negative"] is not None:
                found["negative"] = members[found["negative"]]
            chosen[i] = found
    with open(args.data / "negatives.jsonl", "w") as fh:
        for found in chosen:
            fh.write(json.dumps(found) + "\n")
    with_one = sum(1 for c in chosen if c and c["negative"] is not None)
    print(f"{with_one} of {len(pairs)} pairs have a hard negative "
          f"({time.time() - started:.0f} s, model {args.model})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
