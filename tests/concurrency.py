"""Run one piece of work in several threads at once (each with its own database connection) for race tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_at_once(work: Callable[[], object], *, threads: int = 4) -> list[BaseException]:
    """Start ``work`` in ``threads`` threads released together by a barrier; return what they raised."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - returned to the test, which asserts on it
            errors.append(exc)
        finally:
            connections.close_all()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors
