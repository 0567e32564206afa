"""A small asyncio HTTP/1.1 webhook receiver for benchmarks, run as its own process (standard library only).

    python bench/webhook_receiver.py --port 0 --secret whsec_...

Answers every POST with 200 on keep-alive connections, counts requests and distinct ``X-Webhook-Id`` values and,
with ``--secret``, checks each signature with the hmac module (the documented recipe: HMAC-SHA256 over
``<timestamp>.<body>``, ``v1=<hex>``). Prints ``listening <port>`` when ready and, on SIGTERM, one JSON line of
its counts.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import signal
import sys

counts = {"requests": 0, "bad_signature": 0}
ids: set[str] = set()


def _verify(secret: bytes, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(secret, headers.get("x-webhook-timestamp", "").encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, part.removeprefix("v1="))
               for part in headers.get("x-webhook-signature", "").split())


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, secret: bytes | None) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            counts["requests"] += 1
            ids.add(headers.get("x-webhook-id", ""))
            if secret is not None and not _verify(secret, headers, body):
                counts["bad_signature"] += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default=None)
    args = parser.parse_args()
    secret = args.secret.encode() if args.secret else None
    server = await asyncio.start_server(lambda r, w: _serve(r, w, secret), "127.0.0.1", args.port, backlog=1024)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(json.dumps({**counts, "distinct_ids": len(ids - {""})}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
