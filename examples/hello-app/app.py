"""A minimal web app for trying slipway: Python 3's standard library only.

GET /        a page showing this release's version (from the VERSION file) and the server's hostname
GET /health  200 "ok"; 503 while a file named BROKEN exists in the release (to try a failed deploy),
             and 503 "draining" once SIGTERM arrived

Listens on $BIND:$PORT (default 127.0.0.1:8000), and with `--socket PATH` on that Unix socket too (slipway's
$SLIPWAY_SOCKET: nginx then reaches the app through it, and a blue/green switch needs no nginx reload). On SIGTERM it stops reporting ready, keeps answering for
$DRAIN_SECONDS (default 0; set it when a load balancer polls /health), lets requests in progress finish, then
exits. Behind slipway's blue/green switch traffic has already moved away before SIGTERM arrives.
"""
import html
import os
import signal
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
draining = threading.Event()
# How often each server's loop wakes to notice a SIGTERM and a shutdown. socketserver's default of half a second
# made every stop wait up to a second (the handler, then each loop): a deploy that reuses a slot still draining
# waits for that stop.
POLL_SECONDS = 0.1


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


class UnixHandler(Handler):
    def address_string(self) -> str:
        return "unix"  # a Unix socket's peer has no address


class UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = False
    # The listen backlog. socketserver's 5 is too short for a Unix socket: a connect to a full one fails at once
    # (nginx answers 502), where TCP would only retry the SYN later. gunicorn's default is 2048.
    request_queue_size = 1024

    def server_bind(self) -> None:
        if os.path.exists(self.server_address):
            os.remove(self.server_address)  # left by a process that was killed
        super().server_bind()
        # nginx runs as another user; the socket's directory decides who may reach it.
        os.chmod(self.server_address, 0o666)


if __name__ == "__main__":
    bind = os.environ.get("BIND", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    servers: list[socketserver.BaseServer] = [ThreadingHTTPServer((bind, port), Handler)]
    servers[0].daemon_threads = False  # server_close() then waits for requests in progress
    socket_path = sys.argv[sys.argv.index("--socket") + 1] if "--socket" in sys.argv else None
    if socket_path:
        servers.append(UnixHTTPServer(socket_path, UnixHandler))

    def stop(_signum: int, _frame: object) -> None:
        # Not ready any more, but still answering for a moment: a proxy or a load balancer checking /health
        # stops sending new requests while the ones in flight complete.
        draining.set()
        grace = float(os.environ.get("DRAIN_SECONDS", "0"))
        for server in servers:
            threading.Timer(grace, server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"hello {version()} listening on http://{bind}:{port}/" + (f" and {socket_path}" if socket_path else ""), flush=True)
    # The socket's server in a thread; the port's in the main thread, which wakes every POLL_SECONDS and so runs
    # the SIGTERM handler even when the signal lands on a thread that serves (a main thread blocked in join()
    # would not, and the slot would wait for systemd's SIGKILL).
    others = [threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,)) for server in servers[1:]]
    for thread in others:
        thread.start()
    servers[0].serve_forever(POLL_SECONDS)
    for thread in others:
        thread.join()
    for server in servers:
        server.server_close()
    if socket_path and os.path.exists(socket_path):
        os.remove(socket_path)
    print("hello stopped after draining", flush=True)
