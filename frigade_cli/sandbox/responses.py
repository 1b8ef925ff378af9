"""JSON responses (orjson) in the shapes each side uses, and request-reading helpers."""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

SUCCESS = b'{"success":true}'


def json_response(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data, default=str), status, media_type="application/json")


def raw_json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type="application/json")


def frigade_error(status: int, message: str) -> Response:
    """Frigade's (NestJS's) error shape: `{statusCode, message, error}`."""
    return json_response(
        {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}, status
    )


def segment_error(status: int, message: str) -> Response:
    """The Segment side's error shape in the sandbox: `{success: false, message}`."""
    return json_response({"success": False, "message": message}, status)


def basic_user(credential: str) -> str | None:
    """The user part of an HTTP Basic credential (`base64(user:password)`), or None."""
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.split(":", 1)[0]


async def read_body(request: Request, limit: int) -> tuple[bytes, int]:
    """The body when at most `limit` bytes, else b"" (the rest read and dropped); and its size."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return (b"".join(chunks) if size <= limit else b""), size
