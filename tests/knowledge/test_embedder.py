"""The ONNX all-MiniLM-L6-v2 embedder: agrees with the PyTorch model it replaced, checks its files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from store.embedder import LocalEmbedder, ModelFileError, default_model_path, default_tokenizer_path

DATA = Path(__file__).parent / "data"


def test_vectors_agree_with_the_pytorch_reference(local_embedder: LocalEmbedder) -> None:
    # Recorded once from sentence-transformers' all-MiniLM-L6-v2 (the previous embedder) on handbook
    # paragraphs, 10-Q sentences, 10-Q questions and texts longer than the 256-token window.
    texts = json.loads((DATA / "minilm_reference.json").read_text())
    reference = np.load(DATA / "minilm_reference.npy").astype(np.float32)
    assert len(texts) == len(reference) >= 300
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    vectors = np.asarray(local_embedder.embed(texts), dtype=np.float32)
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosines = (vectors * reference).sum(axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() > 0.98, f"text {worst} ({texts[worst][:60]!r}) has cosine {cosines.min():.4f}"


def test_batching_by_length_keeps_input_order(local_embedder: LocalEmbedder) -> None:
    texts = ["a much longer text about resetting a VPN token after the laptop was reimaged " * 5, "printer", "vpn"]
    together = np.asarray(local_embedder.embed(texts))
    alone = np.asarray([local_embedder.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)
    assert local_embedder.embed([]) == []


def test_a_model_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    embedder = LocalEmbedder(model_path=fake, tokenizer_path=default_tokenizer_path())
    with pytest.raises(ModelFileError, match="expected the pinned 8199be6f"):
        embedder.embed(["hello"])


def test_model_files_come_from_installed_packages() -> None:
    assert default_model_path().is_file() and default_model_path().stat().st_size > 20_000_000
    assert default_tokenizer_path().name == "tokenizer.json"
