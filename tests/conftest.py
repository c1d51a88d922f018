import http
import mimetypes
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipeline.db import open_db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"

# A script's background job (`cmd &`) starts with SIGINT ignored, and the podpipe
# processes the tests start would inherit that: the Ctrl-C tests would send a
# signal nobody hears. Handlers (unlike "ignored") are reset when a child starts.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "test.db"


@pytest.fixture
def db(db_path):
    return open_db(db_path)


@pytest.fixture(scope="session")
def make_httpserver():
    """The loopback server behind pytest-httpserver's ``httpserver`` fixture, for
    well-behaved HTTP; threaded, so concurrent downloads overlap as against a CDN."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def static_handler(folder):
    """A pytest-httpserver handler serving files with ETag, 304 and Range, like a CDN."""
    folder = Path(folder)

    def handler(request):
        path = (folder / request.path.lstrip("/")).resolve()
        if not path.is_file() or folder.resolve() not in path.parents:
            return Response("not found", status=404)
        data = path.read_bytes()
        response = Response(data, mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        response.add_etag()
        return response.make_conditional(request, accept_ranges=True, complete_length=len(data))

    return handler


def serve_dir(httpserver, folder):
    httpserver.expect_request(re.compile(r"^/.*$")).respond_with_handler(static_handler(folder))
    return httpserver.url_for("/")


def build_corpus(out, base_url, *extra, only=None):
    """Build the shared dev corpus (feed, transcripts, maybe audio) into out;
    ``only``: one interview script's file name instead of all of them."""
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the project")
    scripts = CORPUS / "interviews"
    if only:
        scripts = Path(out).parent / "interviews"
        scripts.mkdir()
        shutil.copy(CORPUS / "interviews" / only, scripts)
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(scripts), str(out),
                    "--base-url", base_url, *extra], check=True, capture_output=True)
    return Path(out)


RESET = "reset"  # a raw server action: abort the connection with a TCP RST
KEEP_OPEN = "keep-open"  # a raw server action: keep the connection for another request


class Request:
    """One request as a raw server saw it; ``path`` keeps its query string."""

    def __init__(self, method, path, headers):
        self.method, self.path, self.headers, self.time = method, path, headers, time.monotonic()

    @property
    def range(self):
        value = self.headers.get("range")
        return int(value.split("=")[1].split("-")[0]) if value else None


class RawServer:
    """A loopback HTTP/1.1 server on raw sockets, for what a well-behaved
    server (the ``httpserver`` fixture) never sends: a wrong Content-Length, a
    stall, a reset mid-body. Each request is answered with the actions its
    handler returns: bytes to send, a number of seconds to stall, RESET, KEEP_OPEN.

    ``routes[path]`` are the normal answers, ``reply`` answers any other path
    (404 without it); ``faults[path]`` is a list of handlers used once each,
    in order, before the route answers again. ``log`` holds every Request."""

    def __init__(self, host="127.0.0.1", reply=None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.reply = reply or (lambda r: [respond(404)])
        self.routes, self.faults, self.log = {}, {}, []
        threading.Thread(target=self._accept, daemon=True).start()

    def requests(self, path):
        return [r for r in self.log if r.path == path]

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(5)
        try:
            while True:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                line, *lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
                method, path, _ = line.split(" ", 2)
                request = Request(method, path, {k.strip().lower(): v.strip()
                                                 for k, v in (h.split(":", 1) for h in lines)})
                self.log.append(request)
                queue = self.faults.get(path)
                handler = queue.pop(0) if queue else self.routes.get(path, self.reply)
                actions = handler(request)
                for action in actions:
                    if action == RESET:
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    if isinstance(action, (int, float)):
                        time.sleep(action)
                    elif isinstance(action, bytes):
                        conn.sendall(action)
                if KEEP_OPEN not in actions:
                    return
        except OSError:
            pass  # the client gave up on us: that is the point of most faults
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def respond(status, body=b"", headers=(), length=None, close=True):
    """Raw response bytes; ``length`` declares a Content-Length other than the truth."""
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
             f"Content-Length: {len(body) if length is None else length}", *headers]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def raw_server():
    """Makes RawServers: ``raw_server(host="127.0.0.1", reply=None)``; closes them after the test."""
    made = []

    def make(host="127.0.0.1", reply=None):
        made.append(RawServer(host, reply))
        return made[-1]

    yield make
    for s in made:
        s.close()
