"""A minimal web app for trying slipway: Python 3's standard library only.

GET /        a page showing this release's version (from the VERSION file) and the server's hostname
GET /health  200 "ok"; 503 while a file named BROKEN exists in the release (to try a failed deploy),
             and 503 "draining" once SIGTERM arrived

Listens on $BIND:$PORT (default 127.0.0.1:8000). On SIGTERM it stops reporting ready, keeps answering for
$DRAIN_SECONDS (default 0; set it when a load balancer polls /health), lets requests in progress finish, then
exits. Behind slipway's blue/green switch traffic has already moved away before SIGTERM arrives.
"""
import html
import os
import signal
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
draining = threading.Event()


def version() -> str:
    try:
        return (HERE / "VERSION").read_text().strip()
    except FileNotFoundError:
        return "unknown"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            if draining.is_set():
                self.reply(503, "draining\n")
            elif (HERE / "BROKEN").exists():
                self.reply(503, "broken\n")
            else:
                self.reply(200, "ok\n")
        elif self.path == "/":
            page = (
                "<!doctype html><title>hello</title>"
                f"<h1>hello from {html.escape(socket.gethostname())}</h1>"
                f"<p>version {html.escape(version())}</p>"
                f"<p>HELLO_SECRET is {'set' if os.environ.get('HELLO_SECRET') else 'not set'}</p>\n"
            )
            self.reply(200, page, "text/html; charset=utf-8")
        else:
            self.reply(404, "not found\n")

    def reply(self, status: int, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    bind = os.environ.get("BIND", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = False  # server_close() then waits for requests in progress

    def stop(_signum: int, _frame: object) -> None:
        # Not ready any more, but still answering for a moment: a proxy or a load balancer checking /health
        # stops sending new requests while the ones in flight complete.
        draining.set()
        grace = float(os.environ.get("DRAIN_SECONDS", "0"))
        threading.Timer(grace, server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"hello {version()} listening on http://{bind}:{port}/", flush=True)
    server.serve_forever()
    server.server_close()
    print("hello stopped after draining", flush=True)
