import mimetypes
import time
import re
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from pipeline.db import open_db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "test.db"


@pytest.fixture
def db(db_path):
    return open_db(db_path)


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


def build_corpus(out, base_url, *extra):
    """Build the shared dev corpus (feed, transcripts, maybe audio) into out."""
    if not CORPUS.exists():
        pytest.skip("../shared/corpus is not beside the project")
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(CORPUS / "interviews"), str(out),
                    "--base-url", base_url, *extra], check=True, capture_output=True)
    return Path(out)


class RawServer:
    """A loopback TCP server that answers each connection with bytes we choose,
    so a test can send what a well-behaved HTTP library never would (a wrong
    Content-Length, a reset mid-body). ``reply(request_text)`` returns bytes,
    or a list of byte strings sent with a pause between them."""

    def __init__(self, reply, connections=10):
        import socket
        import threading

        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(10)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

        def serve():
            for _ in range(connections):
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                with conn:
                    request = conn.recv(65536).decode(errors="replace")
                    self.requests.append(request)
                    answer = reply(request)
                    try:
                        for i, part in enumerate(answer if isinstance(answer, list) else [answer]):
                            if i:
                                time.sleep(0.1)  # let the client read what came before
                            conn.sendall(part)
                    except OSError:
                        pass  # the client hung up first, which is what some tests want

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def close(self):
        self.sock.close()


@pytest.fixture
def raw_server():
    servers = []

    def make(reply, connections=10):
        servers.append(RawServer(reply, connections))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def range_of(request):
    """The start of a Range header in a raw request, or None."""
    for line in request.split("\r\n"):
        if line.lower().startswith("range:"):
            return int(line.split("=")[1].split("-")[0])
    return None
