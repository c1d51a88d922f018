"""Download stage: enclosures and publisher transcript files, concurrently,
resumable (HTTP Range), verified, and written by atomic rename."""
import hashlib
import logging
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from .db import utcnow
from .errors import PodpipeError
from .files import feed_slug
from .http_client import FetchError, RetryPolicy, describe, local_path, make_client, retry_after_seconds
from .queue import pending_episodes
from .text import slugify
from .urls import feed_root, refusal

log = logging.getLogger("podpipe.download")
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB: a long episode is ~100 MB
AUDIO_EXTENSIONS = {".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm"}
TYPE_EXTENSIONS = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a",
    "audio/aac": ".aac", "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/wav": ".wav",
    "audio/x-wav": ".wav", "audio/flac": ".flac", "audio/webm": ".webm", "video/mp4": ".mp4",
    "text/vtt": ".vtt", "application/x-subrip": ".srt", "application/srt": ".srt",
    "application/json": ".json", "text/html": ".html", "text/plain": ".txt",
}
TRANSCRIPT_EXTENSIONS = {".vtt", ".srt", ".json", ".html", ".htm", ".txt"}


class DownloadError(PodpipeError):
    """A download that failed; one line for the user."""


# Set on Ctrl-C (or SIGTERM) so that worker threads stop at the next chunk or
# backoff and no queued episode starts; their .part files stay to be resumed.
STOP = threading.Event()


class Stopped(Exception):
    pass


@dataclass
class Result:
    path: str
    sha256: str
    size: int


def file_extension(url, content_type, allowed, default):
    """An extension from the MIME type, else from the URL if it is a known one.

    Only the extension of the URL path is ever used, never the name itself.
    """
    ext = TYPE_EXTENSIONS.get((content_type or "").split(";")[0].strip().lower())
    if ext in allowed:
        return ext
    ext = os.path.splitext(urlparse(url or "").path)[1].lower()
    return ext if ext in allowed else default


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            h.update(block)
    return h.hexdigest()


def _origin(part):
    """Beside a .part file, the URL it holds the start of. Not a temp-file name, so
    maintenance.clean_temp_files leaves it while it keeps the .part."""
    return part.with_name(f".{part.name}.url")


def _finish(part, dest, digest=None):
    """Check, sync and rename a finished .part file; digest: its sha256 object when
    the bytes were hashed as they came (else the file is read again to hash it)."""
    _origin(part).unlink(missing_ok=True)
    if part.stat().st_size == 0:
        # a CDN glitch more often than a real episode: refused, so the next run tries again
        part.unlink()
        raise DownloadError("the file is empty (0 bytes)")
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, dest)
    return Result(str(dest), digest.hexdigest() if digest else sha256_file(dest), dest.stat().st_size)


def download_file(url, dest, *, client, max_bytes=DEFAULT_MAX_BYTES, policy=None, sleep=None):
    """Download url to dest via dest.part, resuming a partial file with Range.

    Raises DownloadError. A partial .part file is kept so the next try resumes.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    source = local_path(url)
    if source is not None:
        try:
            if source.stat().st_size > max_bytes:
                raise DownloadError(f"file is {source.stat().st_size} bytes, over the limit of {max_bytes}")
            _copy_at_most(source, part, max_bytes)
        except OSError as exc:
            raise DownloadError(f"cannot read {source}: {exc.strerror}") from None
        return _finish(part, dest)

    policy = policy or RetryPolicy()
    delay = policy.backoff
    error = "no attempt made"
    if part.exists() and _origin(part).exists() and _origin(part).read_text() != url:
        part.unlink()  # the start of an enclosure since replaced: never splice two files together
    for attempt in range(1, policy.attempts + 1):
        have = part.stat().st_size if part.exists() else 0
        # identity: so that Range offsets and Content-Length count the bytes of the file itself
        headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
        wait = delay
        encoded = False
        try:
            with client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status == 416:
                    # our partial file is no good to the server: start again
                    part.unlink(missing_ok=True)
                    error = "HTTP 416 Range Not Satisfiable"
                    continue
                if status in (429, 500, 502, 503, 504):
                    error = describe(httpx.HTTPStatusError("", request=response.request, response=response))
                    if status == 429:
                        wait = min(retry_after_seconds(response, delay), policy.max_retry_after)
                    raise _Retry()
                if status >= 400:
                    raise DownloadError(describe(httpx.HTTPStatusError("", request=response.request,
                                                                        response=response)))
                # some servers compress anyway (S3 objects stored gzipped): we decode those
                # bodies, and never resume one, as its Range offsets count compressed bytes
                encoded = response.headers.get("content-encoding", "identity").strip().lower() != "identity"
                if encoded and status == 206:
                    error = "a compressed partial response, which cannot be resumed"
                    raise _Retry()
                resuming = status == 206 and have
                if resuming and not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
                    resuming = False
                expected = response.headers.get("content-length")
                expected = int(expected) if expected and expected.isdigit() else None
                total = (have if resuming else 0) + (expected or 0)
                if total > max_bytes:
                    part.unlink(missing_ok=True)
                    raise DownloadError(f"file is {total} bytes, over the limit of {max_bytes}")
                got = 0
                # hashed as it comes, in this worker thread (hashlib lets go of the GIL);
                # a resumed file is read again at the end instead
                digest = None if resuming else hashlib.sha256()
                with open(part, "ab" if resuming else "wb") as out:
                    if not resuming:
                        _origin(part).write_text(url)
                    # no chunk size: a buffer would lose bytes on a reset
                    for chunk in response.iter_bytes() if encoded else response.iter_raw():
                        if STOP.is_set():
                            raise Stopped()
                        out.write(chunk)
                        if digest:
                            digest.update(chunk)
                        got += len(chunk)
                        if (have if resuming else 0) + got > max_bytes:
                            out.close()
                            part.unlink(missing_ok=True)
                            raise DownloadError(f"file is over the limit of {max_bytes} bytes")
                if expected is not None and response.num_bytes_downloaded != expected:
                    error = f"truncated: got {response.num_bytes_downloaded} of {expected} bytes"
                    raise _Retry()
            return _finish(part, dest, digest)
        except _Retry:
            pass
        except FetchError as exc:  # a redirect we refuse to follow (http_client)
            raise DownloadError(str(exc)) from None
        except (httpx.TransportError, httpx.DecodingError, httpx.TooManyRedirects) as exc:
            error = describe(exc)
            if isinstance(exc, (httpx.TooManyRedirects, httpx.UnsupportedProtocol)):  # retrying will not help
                raise DownloadError(error) from None
        if encoded:  # decoded bytes do not line up with the server's Range offsets
            part.unlink(missing_ok=True)
        if attempt < policy.attempts:
            (sleep or STOP.wait)(wait)  # a backoff ends early when we are told to stop
            if STOP.is_set():
                raise Stopped()
            delay *= 2
    kept = "; the partial file is kept to resume" if part.exists() else ""
    raise DownloadError(f"{error} (after {policy.attempts} attempts{kept})")


class _Retry(Exception):
    pass


def _copy_at_most(source, part, max_bytes):
    """Copy a local file, refusing it past max_bytes: a device or a pipe says it is empty and never ends."""
    with open(source, "rb") as src, open(part, "wb") as out:
        copied = 0
        for block in iter(lambda: src.read(1024 * 1024), b""):
            copied += len(block)
            if copied > max_bytes:
                out.close()
                part.unlink(missing_ok=True)
                raise DownloadError(f"file is over the limit of {max_bytes} bytes")
            out.write(block)


def audio_dest(audio_dir, folder, episode):
    """Where an episode's audio goes: built from ids and slugs, never the URL's file name."""
    ext = file_extension(episode["enclosure_url"], episode["enclosure_type"], AUDIO_EXTENSIONS, ".audio")
    name = f"{episode['id']}-{slugify(episode['title'] or '', 40) or 'episode'}{ext}"
    return Path(audio_dir) / folder / name


def pending_downloads(db, *, episode_ids=None, max_attempts=3, limit=None, since=None):
    """Episodes with an enclosure and no audio yet, oldest first."""
    return pending_episodes(db, "e.enclosure_url is not null and e.audio_path is null", episode_ids=episode_ids,
                            since=since, max_attempts=max_attempts, limit=limit)


def _fetch_episode(episode, audio_dir, client, max_bytes, policy, transcript_links):
    dest = audio_dest(audio_dir, feed_slug(episode["feed_title"], episode["feed_id"]), episode)
    # checked again here, not only at ingest: a database filled by an older podpipe may hold such links
    root = feed_root(episode["feed_url"]) if local_path(episode["feed_url"] or "") is not None else None
    reason = refusal(episode["enclosure_url"], root)
    if reason:
        raise DownloadError(reason)
    audio = download_file(episode["enclosure_url"], dest, client=client, max_bytes=max_bytes, policy=policy)
    links = []
    for n, link in enumerate(transcript_links, 1):
        if STOP.is_set():
            break  # the audio is done and will be recorded; the transcripts not fetched stay unfetched
        ext = file_extension(link["url"], link["type"], TRANSCRIPT_EXTENSIONS, ".txt")
        tdest = dest.with_name(f"{dest.stem}.transcript{n}{ext}")
        try:
            reason = refusal(link["url"], root)
            if reason:
                raise DownloadError(reason)
            try:
                r = download_file(link["url"], tdest, client=client, max_bytes=50 * 1024 * 1024, policy=policy)
            except Stopped:
                break
            links.append((link["url"], {"path": r.path, "sha256": r.sha256, "error": None}))
        except DownloadError as exc:
            # a missing transcript is not fatal: we can still transcribe the audio
            links.append((link["url"], {"path": None, "sha256": None, "error": str(exc)}))
    return audio, links


def download(db, *, audio_dir="audio", concurrency=4, limit=None, episode_ids=None, since=None,
             max_bytes=DEFAULT_MAX_BYTES, max_attempts=3, policy=None, progress=None, client=None):
    """Download audio (and publisher transcripts) for pending episodes.

    Returns {"downloaded": n, "failed": n, "errors": [(episode_id, message)]}.
    Network work runs in threads; all database writes happen on this thread.
    """
    episodes = pending_downloads(db, episode_ids=episode_ids, max_attempts=max_attempts, limit=limit, since=since)
    result = {"downloaded": 0, "failed": 0, "errors": []}
    if not episodes:
        return result
    own = client is None
    client = client or make_client(timeout=60.0)
    links = {}
    for row in db.query("select * from episode_transcript_links where path is null"):
        links.setdefault(row["episode_id"], []).append(row)
    STOP.clear()
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    futures, recorded = {}, set()

    def record(done):
        """Record finished downloads, all in one transaction (one commit, and so one
        WAL sync, for the files that finished together); counts, logs and progress
        only once it has committed, so an interrupt that rolls it back leaves them
        to be recorded again."""
        outcomes = []
        with db.atomic():
            for future in done:
                ep = futures[future]
                try:
                    audio, transcript_files = future.result()
                except Stopped:
                    continue  # its .part file stays, to be resumed
                except (DownloadError, FetchError, OSError) as exc:
                    message = str(exc) if not isinstance(exc, OSError) else f"cannot write: {exc.strerror}"
                    db.execute("update episodes set status = 'failed', error = ?, attempts = ?, updated = ? "
                               "where id = ?", [f"download: {message}", (ep["attempts"] or 0) + 1, utcnow(), ep["id"]])
                    outcomes.append((future, ep, None, message))
                    continue
                db.execute("update episodes set audio_path = ?, audio_sha256 = ?, audio_bytes = ?, "
                           "status = 'downloaded', error = null, attempts = 0, updated = ? where id = ?",
                           [audio.path, audio.sha256, audio.size, utcnow(), ep["id"]])
                for url, fields in transcript_files:
                    db.execute("update episode_transcript_links set path = ?, sha256 = ?, error = ? "
                               "where episode_id = ? and url = ?",
                               [fields["path"], fields["sha256"], fields["error"], ep["id"], url])
                outcomes.append((future, ep, audio, None))
        for future, ep, audio, message in outcomes:
            if audio is None:
                result["failed"] += 1
                result["errors"].append((ep["id"], message))
                log.warning("event=download episode=%d status=failed error=%r", ep["id"], message)
            else:
                result["downloaded"] += 1
                log.info("event=download episode=%d status=ok bytes=%d path=%s", ep["id"], audio.size, audio.path)
            recorded.add(future)
            if progress:
                progress(ep)

    try:
        finished = queue.SimpleQueue()
        futures.update({pool.submit(_fetch_episode, ep, audio_dir, client, max_bytes, policy,
                                    links.get(ep["id"], [])): ep for ep in episodes})
        for future in futures:
            future.add_done_callback(finished.put)
        left = len(futures)
        while left:
            done = [finished.get()]  # the next to finish, and any that finished meanwhile
            while not finished.empty():
                done.append(finished.get())
            left -= len(done)
            record(done)
        pool.shutdown()
    except KeyboardInterrupt:
        # No `with pool:` here: its exit would wait for every queued episode
        # before we could say stop. Workers stop at their next chunk; files
        # that finished meanwhile (or whose row this interrupt cut short) are
        # recorded, so no finished file is left that the database does not know.
        STOP.set()
        pool.shutdown(wait=True, cancel_futures=True)
        record([f for f in futures if f.done() and not f.cancelled() and f not in recorded])
        raise
    finally:
        if own:
            client.close()
    return result
