"""Model files and the sentence embedder. Plain Python: no language-server imports."""

from patina_lsp.embedding.embedder import Embedder
from patina_lsp.embedding.files import ModelError, ModelFiles, model_files

__all__ = ["Embedder", "ModelError", "ModelFiles", "model_files"]
