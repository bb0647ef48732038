#!/usr/bin/env bash
# Quick start: set up, migrate, load the demo desk and its knowledge base, then serve the UI and MCP over HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/support-agent db upgrade
.venv/bin/support-agent demo load
cat >&2 <<'MSG'

MCP over HTTP (/mcp on the address printed below) needs a bearer token. Issue one (shown once) with
    .venv/bin/support-agent token create admin --expires-in 30d
and send it as "Authorization: Bearer <token>" (README: Authentication). stdio needs none.

MSG
exec .venv/bin/support-agent serve "$@"
