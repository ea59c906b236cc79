"""The WordPiece tokenizer, set up for embedding: no fixed padding, truncation at the model's limit."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from patina_lsp.embedding.files import MAX_TOKENS, ModelError


def load_tokenizer(path: Path, max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """`tokenizer.json` with its own padding turned off (we pad per batch) and truncation at `max_tokens`."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises bare Exception on a bad file
        raise ModelError(f"tokenizer {path} is unreadable ({exc}); delete it and run `patina models fetch`") from exc
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer
