"""JSON responses (orjson) in the shapes the sandbox's Frigade side and control API use."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
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
