"""POST /webhooks/elevenlabs: ElevenLabs' post-call webhook, signature-checked, replays refused."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.app import DeskRef
from tools.errors import ConflictError, InvalidInputError, UnavailableError
from tools.voice_import import receive_webhook

logger = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024


def webhook_routes(ref: DeskRef) -> list[Route]:
    async def elevenlabs(request: Request) -> Response:
        desk = ref.desk
        if desk is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "webhook body over 5 MB"}, status_code=413)
        try:
            result = await receive_webhook(desk, body, request.headers.get("elevenlabs-signature"))
        except InvalidInputError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        except ConflictError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except UnavailableError as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        return JSONResponse(result)

    return [Route("/webhooks/elevenlabs", elevenlabs, methods=["POST"])]
