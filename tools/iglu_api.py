"""The few Iglu Server HTTP API calls the schema publisher needs (standard library only)."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_SECONDS = 30
# Keys of an Iglu Server's canonical schema representation that are not part of the schema the user wrote.
SERVER_ADDED = ("$schema", "self", "metadata", "$supersededBy", "$supersedes")


@dataclass(frozen=True)
class Response:
    status: int
    body: Any

    @property
    def message(self) -> str:
        if isinstance(self.body, dict) and "message" in self.body:
            return str(self.body["message"])
        return json.dumps(self.body) if not isinstance(self.body, str) else self.body


class IgluServer:
    """`base_url` is the server's root (https://iglu.example.com), without /api."""

    def __init__(self, base_url: str, api_key: str):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key

    def _call(self, method: str, path: str, body: Any = None) -> Response:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}/api/{path}", data=data, method=method)
        request.add_header("apikey", self._api_key)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as reply:
                return Response(reply.status, _decode(reply.read()))
        except urllib.error.HTTPError as err:
            return Response(err.code, _decode(err.read()))

    def permission(self) -> dict:
        """What the server grants this key (`schema` is null for an unknown key)."""
        reply = self._call("GET", "meta/server")
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise RuntimeError(f"GET /api/meta/server answered {reply.status}: {reply.message}")
        return reply.body.get("authInfo") or {}

    def get_schema(self, path: str) -> dict | None:
        reply = self._call("GET", f"schemas/{path}")
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise RuntimeError(f"GET /api/schemas/{path} answered {reply.status}: {reply.message}")
        return reply.body

    def put_schema(self, path: str, schema: dict, public: bool) -> Response:
        return self._call("PUT", f"schemas/{path}?isPublic={'true' if public else 'false'}", schema)


def same_schema(published: dict, local: dict) -> bool:
    """Whether the server already holds `local` (ignoring what the server adds to its representation)."""

    def strip(document: dict) -> dict:
        return {k: v for k, v in document.items() if k not in SERVER_ADDED}

    return strip(published) == strip(local)


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
