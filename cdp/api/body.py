"""Request bodies: content type, (gzip) decoding with a hard cap on decompressed bytes, JSON parsing."""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from cdp.api.errors import ApiError

ACCEPTED_TYPES = ("application/json", "text/plain", "")
# wbits 32 + 15: zlib detects a gzip or zlib header by itself.
_AUTO_HEADER = 47


def content_type_check(request) -> None:
    media_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_TYPES:
        raise ApiError(415, "unsupported_media_type", "send JSON as application/json or text/plain")


def _decompress(raw: bytes, cap: int) -> bytes:
    decoder = zlib.decompressobj(_AUTO_HEADER)
    try:
        data = decoder.decompress(raw, cap + 1)
    except zlib.error as exc:
        raise ApiError(400, "invalid_body", f"the gzip body could not be decompressed: {exc}") from None
    # max_length bounds the memory a decompression bomb can take: we stop one byte past the cap.
    if len(data) > cap or decoder.unconsumed_tail:
        raise ApiError(413, "body_too_large", f"the decompressed body is larger than {cap} bytes")
    if not decoder.eof:
        raise ApiError(400, "invalid_body", "the gzip body is truncated")
    return data


def body_read(request, *, cap: int) -> bytes:
    """The decoded request body, at most ``cap`` bytes after decompression (413 beyond)."""
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
        raise ApiError(415, "unsupported_encoding", "Content-Encoding must be gzip, deflate or identity")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid_body", "invalid Content-Length") from None
    if length > cap:
        raise ApiError(413, "body_too_large", f"the body is larger than {cap} bytes")
    raw = request.read(cap + 1)
    if len(raw) > cap:
        raise ApiError(413, "body_too_large", f"the body is larger than {cap} bytes")
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _decompress(raw, cap)
    return raw


def json_object_parse(data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise ApiError(400, "invalid_json", "the body is empty")
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return body
