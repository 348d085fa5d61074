"""``sgfkit serve``: a small local web server (standard library only) for live edits of one run.

Routes: ``GET /`` the editor page; ``GET /api/info`` the controls; ``GET /api/sample?seed=N`` the
source image and reading; ``POST /api/edit`` (JSON ``{seed, method, target, layers}``) the edit.
Every error is a JSON body ``{"error": "..."}`` with a 4xx/5xx status and the server keeps serving.

Safety: binds to 127.0.0.1 unless ``allow_remote``; while bound to loopback it answers only
requests whose Host header names the loopback (a web page elsewhere cannot reach it through DNS
rebinding), and POST bodies must be JSON (a cross-site form cannot send one without the browser
asking first) and small.
"""
from __future__ import annotations

import ipaddress
import json
import socket
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sgfkit.errors import RequestError, SgfkitError

#: largest request body read (an edit request is well under 1 KiB)
MAX_BODY = 64 * 1024
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback address unless the user asked for it explicitly."""
    if not is_loopback(host) and not allow_remote:
        raise SgfkitError(f"refusing to serve on {host!r}: anyone on that network could use it (and make this "
                          "machine compute); bind to 127.0.0.1 (the default) or add --allow-remote")


def editor_page() -> bytes:
    """The editor page (static HTML + inline JS/CSS; fetches only this server's /api)."""
    return resources.files("sgfkit").joinpath("editor_page.html").read_bytes()


class EditorServer(ThreadingHTTPServer):
    """A threading HTTP server that holds an :class:`~sgfkit.editor_session.EditorSession`."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], session: Any, check_host: bool, quiet: bool = True) -> None:
        self.session = session
        self.check_host = check_host
        self.quiet = quiet
        self.page = editor_page()
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, EditorHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"


class EditorHandler(BaseHTTPRequestHandler):
    server: EditorServer
    server_version = "sgfkit"
    protocol_version = "HTTP/1.1"  # keep-alive: the page sends many small requests
    timeout = 60  # a client that stops sending does not hold a thread for ever

    # -- plumbing ------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if not self.server.quiet:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        if self.command == "POST" and not getattr(self, "_body_read", False):
            # an unread request body would be parsed as the next request on this connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                                    "style-src 'unsafe-inline'; script-src 'unsafe-inline'")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message, "status": status})

    def _host_ok(self) -> bool:
        if not self.server.check_host:
            return True
        host = (self.headers.get("Host") or "").strip()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name)

    def _guarded(self, handler: Any) -> None:
        """Run a route; user errors -> 400 JSON, anything else -> 500 JSON (and the server goes on)."""
        try:
            if not self._host_ok():
                self._error(403, f"unexpected Host header {self.headers.get('Host')!r}: this server answers "
                                 "only http://127.0.0.1 / localhost (start it with --allow-remote to change that)")
                return
            handler()
        except RequestError as err:
            self._error(400, str(err))
        except SgfkitError as err:
            self._error(422, str(err))
        except Exception as exc:  # noqa: BLE001 - one bad request must not stop the server
            traceback.print_exc(file=sys.stderr)
            self._error(500, f"internal error ({type(exc).__name__}: {exc}); the server keeps running")

    # -- routes --------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._guarded(self._get)

    def do_HEAD(self) -> None:  # noqa: N802
        self._guarded(self._get)

    def do_POST(self) -> None:  # noqa: N802
        self._guarded(self._post)

    def _get(self) -> None:
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif url.path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")  # none, and no 404 noise in the browser console
        elif url.path == "/api/info":
            self._json(200, self.server.session.info())
        elif url.path == "/api/sample":
            query = parse_qs(url.query)
            if "seed" not in query:
                raise RequestError("missing seed: use /api/sample?seed=0")
            self._json(200, self.server.session.sample(query["seed"][-1]))
        else:
            self._error(404, f"no such page {url.path!r}; the editor is at /")

    def _post(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/api/edit":
            self._error(404 if url.path not in ("/", "/api/info", "/api/sample") else 405,
                        f"POST {url.path!r} is not served; send edits to POST /api/edit")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(411, "send a Content-Length header with the JSON body")
            return
        if int(length) > MAX_BODY:  # not read: the connection closes after the answer
            self._error(413, f"request body of {length} bytes is too large (limit {MAX_BODY})")
            return
        body = self.rfile.read(int(length))
        self._body_read = True
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._error(415, "send the edit as JSON with Content-Type: application/json")
            return
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RequestError(f"the request body is not valid JSON ({err}); send "
                               '{"seed": 0, "method": "...", "target": {...}}') from None
        self._json(200, self.server.session.edit(data))


def make_server(session: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT, allow_remote: bool = False,
                quiet: bool = True) -> EditorServer:
    """Bind (port 0 picks a free one) after :func:`check_bind`; call ``serve_forever()`` on the result."""
    check_bind(host, allow_remote)
    try:
        return EditorServer((host, port), session, check_host=is_loopback(host), quiet=quiet)
    except OSError as err:
        raise SgfkitError(f"cannot listen on {host}:{port} ({err.strerror or err}); pick another --port "
                          "(or --port 0 for any free one)") from None
