"""Serving the checking page with waitress, a threaded WSGI server: a slow answer (a wrong one
whose diagnosis takes its whole budget) holds one thread while the others keep answering.

Waitress reads each request completely, within its own limits (body size, a channel timeout),
before a thread runs it, so a slow or stalled client costs no thread at all.
"""

from __future__ import annotations

from typing import Callable

from waitress import create_server

from .app import MAX_BODY

__all__ = ["run", "DEFAULT_THREADS"]

DEFAULT_THREADS = 8
CHANNEL_TIMEOUT = 30        # seconds a connection may stay idle
CONNECTION_LIMIT = 200
# Waitress refuses larger bodies itself (plain text); between MAX_BODY and this, the application
# refuses them with its JSON error.
WAITRESS_BODY_LIMIT = 64 * MAX_BODY


def run(app, host: str = "127.0.0.1", port: int = 8000, threads: int = DEFAULT_THREADS,
        ready: Callable[[str, int], None] | None = None) -> None:
    """Serve ``app`` until interrupted; ``ready(host, port)`` is called once it listens (``port=0``
    picks a free port, which ``ready`` then names)."""
    server = create_server(app, host=host, port=port, threads=threads, channel_timeout=CHANNEL_TIMEOUT,
                           connection_limit=CONNECTION_LIMIT, max_request_body_size=WAITRESS_BODY_LIMIT,
                           ident="symbackprop")
    if ready is not None:
        ready(server.effective_host, server.effective_port)
    try:
        server.run()
    finally:
        server.close()
