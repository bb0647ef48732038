"""The local-model tier's setup without the model: choosing a model by setting, and the fenced-json chat
template derived from a GGUF's own template (run always; the GGUFs here are tiny files with a header only)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.agent import local_model

QWEN_TOOL_LINES = (
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments '
    'within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    '<args-json-object>}\\n</tool_call><|im_end|>\\n" }}\n'
    "{%- for tool_call in message.tool_calls %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}\n'
    "            {{- tool_call.name }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "{%- endfor %}\n"
)


def gguf(path: Path, **metadata: str | int) -> Path:
    """A GGUF header with the given string/uint32 metadata and an array (which the reader must skip)."""

    def string(s: str) -> bytes:
        data = s.encode()
        return struct.pack("<Q", len(data)) + data

    body = b""
    items: list[tuple[str, str | int | list[int]]] = [("tokenizer.ggml.token_type", [1, 2, 3]), *metadata.items()]
    for key, value in items:
        body += string(key)
        if isinstance(value, str):
            body += struct.pack("<I", 8) + string(value)
        elif isinstance(value, list):
            body += struct.pack("<IIQ", 9, 5, len(value)) + struct.pack(f"<{len(value)}i", *value)
        else:
            body += struct.pack("<II", 4, value)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(items)) + body)
    return path


def test_the_model_is_chosen_by_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(local_model.SETTING, raising=False)
    # Unset: the larger model when its extra is installed, else the smaller one.
    installed: set[str] = set()
    monkeypatch.setattr(local_model, "available", lambda key=None: key in installed)
    assert local_model.selected().key == "0.5b"
    installed.add("0.5b")
    assert local_model.selected().key == "0.5b"
    installed.add("1.5b")
    assert local_model.selected().key == "1.5b"
    monkeypatch.setenv(local_model.SETTING, "0.5b")
    assert local_model.selected().key == "0.5b"
    monkeypatch.setenv(local_model.SETTING, "1.5B")
    assert local_model.selected().key == "1.5b"
    assert len(local_model.selected().parts) == 22
    assert local_model.selected("0.5b").key == "0.5b"
    monkeypatch.setenv(local_model.SETTING, "7b")
    with pytest.raises(ValueError, match=r"SUPPORT_LOCAL_MODEL='7b'.*0\.5b, 1\.5b"):
        local_model.selected()


def test_every_part_is_pinned_by_hash_in_the_extras_requirements() -> None:
    root = Path(__file__).resolve().parents[2] / "requirements"
    for model, file in [("0.5b", "local-model.txt"), ("1.5b", "local-model-1.5b.txt")]:
        lines = [line for line in (root / file).read_text().splitlines() if line and not line.startswith("#")]
        pinned = {line.split("==")[0].replace("-", "_") for line in lines if "--hash=sha256:" in line}
        assert len(pinned) == len(lines)
        assert {"xllamacpp", *local_model.selected(model).parts} == pinned


def test_the_fenced_template_changes_exactly_the_tool_call_lines(tmp_path: Path) -> None:
    stock = "{%- if tools %}\n" + QWEN_TOOL_LINES + "{%- endif %}\n"
    fenced = local_model.fenced_template(gguf(tmp_path / "m.gguf", **{"a.count": 7, "tokenizer.chat_template": stock}))
    assert "<tool_call>" not in fenced
    assert 'in a fenced json block:\\n```json\\n{\\"name\\": <function-name>' in fenced
    assert '{{- \'\\n```json\\n{"name": "\' }}' in fenced
    assert "{{- '}\\n```' }}" in fenced
    changed = [(a, b) for a, b in zip(stock.splitlines(), fenced.splitlines(), strict=True) if a != b]
    assert len(changed) == 3


def test_a_template_without_the_tool_call_lines_is_refused(tmp_path: Path) -> None:
    path = gguf(tmp_path / "m.gguf", **{"tokenizer.chat_template": "{{ messages }}"})
    with pytest.raises(RuntimeError, match="no single line matching"):
        local_model.fenced_template(path)
    (tmp_path / "x.gguf").write_bytes(b"nope")
    with pytest.raises(RuntimeError, match="not a GGUF"):
        local_model.gguf_metadata(tmp_path / "x.gguf")
