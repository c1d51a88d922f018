"""The desk for tests: the items fixture database with a real audio file, and
the app served by uvicorn on 127.0.0.1 in a thread (real HTTP)."""
import contextlib
import socket
import threading
import time
import wave

from items_fixture import ITEMS, make_db

AUDIO_SECONDS = 90  # item 1 starts at 65 s


def write_wav(path, seconds=AUDIO_SECONDS, rate=8000):
    """A quiet 8-bit mono tone: small, and every browser plays WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        period = bytes(128 + int(8 * ((i % 20) < 10)) for i in range(20))
        w.writeframes(period * (seconds * rate // 20))
    return path


def make_desk_db(tmp_path, items=ITEMS):
    """The items fixture with episode 1's audio downloaded (a WAV in tmp_path)."""
    path = tmp_path / "desk.db"
    db = make_db(path, items)
    db["episodes"].update(1, {"audio_path": str(write_wav(tmp_path / "ep1.wav"))})
    return path, db


def many_items(n):
    """n pending tips on episode 1, best first by id."""
    return [{"id": i, "kind": "tip", "text": f"Tip number {i}: talk to customers.", "episode_id": 1,
             "speaker": "Corie Miller", "person_id": 1, "start": float(i), "end": float(i) + 2,
             "topics": ["customers"], "score": round(1 - i / (n + 1), 4), "status": "pending"}
            for i in range(1, n + 1)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app):
    """Serve an ASGI app with uvicorn on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the desk did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


__all__ = ["make_desk_db", "many_items", "live_server", "write_wav"]
