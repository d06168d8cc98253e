"""Run a test HTTP server on loopback in a thread, and stop it without waiting.

``http.server``'s ``serve_forever`` looks for a stop request every ``poll_interval``
seconds (0.5 by default), so each ``shutdown()`` used to wait up to half a second: paid
by every test whose fixture starts and stops a server. :data:`POLL_SECONDS` makes that
wait a few milliseconds; the servers answer exactly as before.
"""

from __future__ import annotations

import threading
from socketserver import BaseServer

#: Seconds between two looks for a stop request in the server's loop (what ``stop`` waits).
POLL_SECONDS = 0.01


def start(httpd: BaseServer) -> threading.Thread:
    """Serve ``httpd`` in a daemon thread until :func:`stop`."""
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    return thread


def stop(httpd: BaseServer) -> None:
    """Stop serving and close the port: from now on connections are refused."""
    httpd.shutdown()
    httpd.server_close()
