"""Texts in, unit vectors out: onnxruntime sessions, one text per run, mean pooling.

Why one text per run: the INT8 graph quantises activations dynamically, with one scale
per tensor, so a text's vector would depend on what else shares its batch (measured:
cosine 0.994 between a chunk embedded alone and in a batch of 8 — as much error as the
quantisation itself). Embedding texts singly keeps every vector a pure function of its
text, so a query, a resumed index and a fresh index all agree. Throughput comes from
running `lanes` single-threaded runs in parallel instead (onnxruntime releases the GIL),
which on 2 cores was faster than batching with 2 intra-op threads (measured 64 vs 55
chunks/s); single queries use their own multi-threaded session for latency.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

from patina_lsp.embedding.files import ModelError, ModelFiles
from patina_lsp.embedding.tokenizer import load_tokenizer


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over the positions the mask keeps, then L2 normalisation: (n, seq, dim) -> (n, dim)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    return (pooled / norms).astype(np.float32)


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelError(f"model file {path} could not be loaded ({exc}); "
                         f"delete it and run `patina models fetch`") from exc


def _lower_priority() -> None:
    """Nice the calling thread (Linux nice values are per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


class Embedder:
    """Owns the tokenizer and ONNX sessions of one model choice (embedding/models.py). Thread-safe."""

    def __init__(self, files: ModelFiles, variant: str = "int8", threads: int | None = None,
                 verify: bool = True, low_priority: bool = False):
        if verify:
            files.verify(variant)
        self.variant = variant  # the choice: int8, fp32, code, code-fp32 (stores are kept per choice)
        self.spec = files.spec(variant)
        self.model_path: Path = files.onnx(variant)
        self.identity = files.identity(variant)  # which build made a vector (the shared cache's key)
        self.tokenizer = load_tokenizer(files.tokenizer, self.spec.max_tokens)
        self.lanes = max(1, threads or os.cpu_count() or 1)
        self.tokens_embedded = 0  # by `embed` since this embedder was made (what a cold index costs)
        self.texts_embedded = 0  # the texts of those tokens
        self._count_lock = threading.Lock()
        self._query_session = _session(self.model_path, self.lanes)
        self._bulk_session = _session(self.model_path, 1)
        # bulk embedding runs on these lanes; with low_priority they yield the CPU to the editor
        self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix="patina-embed",
                                        initializer=_lower_priority if low_priority else None)

    @property
    def dimensions(self) -> int:
        return self.spec.dimensions

    @property
    def max_tokens(self) -> int:
        return self.spec.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts after truncation (with [CLS] and [SEP])."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def _run(self, session: ort.InferenceSession, ids: list[int]) -> np.ndarray:
        tokens = np.asarray([ids], dtype=np.int32)
        mask = np.ones_like(tokens)
        (hidden,) = session.run(None, {"input_ids": tokens, "attention_mask": mask})
        return mean_pool_normalize(hidden, mask)[0]

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one text, on the low-latency session."""
        return self._run(self._query_session, self.tokenizer.encode(self.spec.query_prefix + text).ids)

    def embed_document(self, text: str) -> np.ndarray:
        """The unit vector of one document text (as `embed` gives it), on the low-latency session."""
        return self._run(self._query_session, self.tokenizer.encode(self.spec.document_prefix + text).ids)

    def embed(self, texts: Sequence[str], cancelled: Callable[[], bool] | None = None) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimensions), in input order.

        `cancelled` is polled between texts; when it returns True, InterruptedError is raised.
        """
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        prefix = self.spec.document_prefix
        encodings = self.tokenizer.encode_batch([prefix + t for t in texts] if prefix else list(texts))
        with self._count_lock:
            self.tokens_embedded += sum(len(e.ids) for e in encodings)
            self.texts_embedded += len(encodings)

        def one(i: int) -> None:
            if cancelled is not None and cancelled():
                raise InterruptedError("embedding cancelled")
            out[i] = self._run(self._bulk_session, encodings[i].ids)

        for future in [self._pool.submit(one, i) for i in range(len(texts))]:
            future.result()
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
