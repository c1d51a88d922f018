"""Files on disk: where a feed's files go, and writing a file atomically.

Every file we write goes through a temp file beside it, named
``.NAME.xxxx.tmp``, that is renamed over NAME when it is complete; a killed
run leaves at most a temp file, which ``TEMP_FILE`` recognises and
``maintenance.clean_temp_files`` removes.
"""
import contextlib
import os
import re
import tempfile
from pathlib import Path

from .text import slugify

# interrupted atomic writes (.NAME.xxx.tmp), partial downloads (NAME.part) and
# the note of which URL a partial download came from (.NAME.part.url)
TEMP_FILE = re.compile(r"^\..+\.tmp$|\.part$|^\..+\.part\.url$")


def feed_slug(title, feed_id):
    """The folder a feed's audio and transcripts go in: its title as a slug, else feed-ID."""
    return slugify(title or "") or f"feed-{feed_id}"


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temp file's path beside ``path``; renamed over it when the block ends
    without an error, removed when it raises."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_file(path, mode="w", *, encoding="utf-8", newline=None, perms=None, sync=True):
    """Open a temp file beside ``path`` for writing; when the block ends it is
    synced to disk and renamed over ``path`` (removed instead if the block raises).
    sync=False skips the fsync, for a caller that makes many files durable at once (os.sync).

    mkstemp makes the file private; ``perms`` sets other permissions
    ("umask" for what a plain open() would give).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, **({"encoding": encoding, "newline": newline} if text else {})) as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        if perms is not None:
            os.chmod(tmp, 0o666 & ~umask() if perms == "umask" else perms)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path, text, sync=True):
    """Write text to path atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, sync=sync) as f:
        f.write(text)

