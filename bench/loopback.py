"""A threaded HTTP server on 127.0.0.1 for the benches (tests use the fixtures in tests/conftest.py)."""
import http.server
import threading


def serve(handler):
    """Start ``handler`` (a BaseHTTPRequestHandler class) on a free loopback port; returns (server, base URL)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
