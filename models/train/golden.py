"""Reference vectors of the code model for the golden texts, computed by the training code itself.

    python models/train/golden.py     (needs the train extra: PyTorch)

The training model (train.py's MiniLM: PyTorch, the LoRA factors applied on the side of each
matrix, padding and a batch) embeds the 21 texts of tests/data/all-MiniLM-L6-v2.json; the result
goes to tests/data/code-MiniLM-L6-v2.json. The tests compare the ONNX files that
`patina models fetch --model code` builds (factors merged into the weights, no PyTorch) against
it: two independent paths to the same vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train import Batches, MiniLM, base_weights, embed, load_factors  # noqa: E402

from patina_lsp.embedding.delta import read_delta  # noqa: E402
from patina_lsp.embedding.files import sha256_of  # noqa: E402
from patina_lsp.embedding.models import CODE  # noqa: E402

REPO = HERE.parents[1]


def main() -> int:
    argparse.ArgumentParser(description="Write tests/data/code-MiniLM-L6-v2.json: the code model's reference "
                                        "vectors, from the training code and models/" + CODE.delta).parse_args()
    base = json.loads((REPO / "tests" / "data" / "all-MiniLM-L6-v2.json").read_text())
    delta = REPO / "models" / CODE.delta
    lora = read_delta(delta)
    model = MiniLM(base_weights(Path("/tmp/patina-golden")), lora.rank, lora.alpha, train_all=False)
    load_factors(model, delta)
    model.eval()
    batches = Batches(REPO / "models" / "tokenizer.json")
    batches.doc_tok.enable_truncation(max_length=CODE.max_tokens)
    texts = [item["text"] for item in base["items"]]
    vectors = embed(model, batches, texts, documents=True, size=4).numpy()
    out = {
        "about": "Reference FP32 vectors of the code model, from the training code (models/train/golden.py): "
                 "PyTorch, LoRA factors applied beside each matrix, not merged",
        "model": CODE.name,
        "source_package": base["source_package"],
        "delta": {"file": CODE.delta, "sha256": sha256_of(delta)},
        "max_seq_length": CODE.max_tokens,
        "dimensions": CODE.dimensions,
        "items": [{"text": item["text"], "tokens_before_truncation": item["tokens_before_truncation"],
                   "embedding": [round(float(x), 7) for x in vec]} for item, vec in zip(base["items"], vectors)],
    }
    target = REPO / "tests" / "data" / f"{CODE.name}.json"
    target.write_text(json.dumps(out) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
