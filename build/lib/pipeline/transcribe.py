"""Transcription stage: a publisher transcript when the feed gave one, else
Whisper; segments into SQLite and transcript files on disk, atomically."""
import logging
import time
from pathlib import Path

from . import transcript_formats as formats
from .db import utcnow
from .errors import PodpipeError
from .queue import pending_filter
from .transcripts import save_transcript

# Publisher formats in the order we prefer them: speakers and timings first.
PREFERRED = ("vtt", "json", "srt", "html", "txt")
log = logging.getLogger("podpipe.transcribe")


class TranscribeError(PodpipeError):
    """An episode that could not be transcribed; one line for the user."""


def pending_transcriptions(db, *, episode_ids=None, limit=None, max_attempts=3, since=None):
    """Downloaded episodes that have no transcript yet."""
    where, params = pending_filter(episode_ids=episode_ids, since=since, max_attempts=max_attempts, limit=limit)
    return list(db.query("select e.*, f.title as feed_title from episodes e join feeds f on f.id = e.feed_id "
                         "where e.audio_path is not null "
                         "and not exists (select 1 from transcripts t where t.episode_id = e.id)" + where,
                         params))


def publisher_transcript(db, episode_id):
    """The best downloaded publisher transcript of an episode, parsed, or None."""
    candidates = []
    for link in db.query("select * from episode_transcript_links where episode_id = ? and path is not null",
                         [episode_id]):
        try:
            data = Path(link["path"]).read_bytes()
            fmt = formats.detect_format(data, filename=link["path"], content_type=link["type"])
            parsed = formats.parse(data, fmt)
        except (OSError, formats.TranscriptFormatError):
            continue  # a broken publisher file: try the next, or fall back to Whisper
        rank = PREFERRED.index(fmt) if fmt in PREFERRED else len(PREFERRED)
        candidates.append((rank, link["url"], parsed))
    return min(candidates, key=lambda c: c[:2])[2] if candidates else None


def episode_prompt(db, episode):
    """The people the feed names for an episode, to prime Whisper with their names.

    On the dev corpus (bench/transcribe.py, base) names alone took the word
    error rate from 16.1% to 11.9%; adding the episode title made it worse (17.1%).
    """
    people = [r[0] for r in db.execute("select p.name from episode_people ep join people p on p.id = ep.person_id "
                                       "where ep.episode_id = ? order by ep.role desc, p.name", [episode["id"]])]
    return ", ".join(people) + "." if people else None


def transcribe_episode(db, episode, *, model=None, engine="faster-whisper", language=None, vad=True,
                       word_timestamps=False, beam_size=5, force_whisper=False,
                       transcripts_dir="transcripts", on_progress=None, cache_dir=None,
                       diarize=False, max_speakers=None):
    """Transcribe one episode; returns (transcript_id, source, info dict).

    ``diarize`` names the speakers of a Whisper transcript (pipeline.speakers;
    needs the diarize extra) with at most ``max_speakers`` voices.
    """
    if not force_whisper:
        parsed = publisher_transcript(db, episode["id"])
        if parsed:
            tid = save_transcript(db, episode, parsed["segments"], source="publisher",
                                  engine=f"publisher-{parsed['format']}", language=None,
                                  audio_duration=episode.get("duration_s"), processing_s=0.0,
                                  transcripts_dir=transcripts_dir)
            return tid, "publisher", {"duration": episode.get("duration_s") or 0, "seconds": 0.0}
    from .asr import AudioError, load_audio, load_model, transcribe_audio

    loaded = load_model(model, engine=engine, cache_dir=cache_dir)
    if diarize:
        from .diarize import load_encoder
        load_encoder()  # DiarizeUnavailable now, before minutes of Whisper, if the extra is missing
        word_timestamps = True  # a segment is split where its words change speaker
    started = time.perf_counter()
    try:
        # decoded once: diarization listens to the same samples
        audio = load_audio(episode["audio_path"]) if diarize else None
        info, segments = transcribe_audio(loaded, episode["audio_path"], audio=audio, language=language, vad=vad,
                                          word_timestamps=word_timestamps, beam_size=beam_size,
                                          prompt=episode_prompt(db, episode), on_progress=on_progress)
    except AudioError as exc:
        raise TranscribeError(str(exc)) from None
    seconds = time.perf_counter() - started
    labels, diarize_seconds = None, 0.0
    if diarize:
        from .speakers import attribute
        started = time.perf_counter()
        segments, labels = attribute(db, episode, segments, audio, max_speakers=max_speakers)
        diarize_seconds = time.perf_counter() - started
    with db.atomic():  # the voices' names and the transcript land together
        if labels is not None:
            from .speakers import save_labels
            save_labels(db, episode, labels)
        tid = save_transcript(db, episode, segments, source="whisper", engine=loaded.engine, model=loaded.model,
                              language=info["language"], audio_duration=info["duration"],
                              processing_s=round(seconds, 3), transcripts_dir=transcripts_dir)
    return tid, "whisper", {"duration": info["duration"], "seconds": seconds, "diarize_seconds": diarize_seconds}


def transcribe(db, *, episode_ids=None, limit=None, max_attempts=3, since=None, progress=None, **options):
    """Transcribe every pending episode. ``progress(event, **fields)`` reports
    "episode" (n, total, episode), "audio" (done, total) and "done" (rtf).

    Returns {"transcribed", "publisher", "whisper", "failed", "errors"}.
    ModelError propagates: it is a configuration problem, not an episode's.
    """
    episodes = pending_transcriptions(db, episode_ids=episode_ids, limit=limit, max_attempts=max_attempts,
                                      since=since)
    result = {"transcribed": 0, "publisher": 0, "whisper": 0, "failed": 0, "errors": []}
    for n, episode in enumerate(episodes, 1):
        if progress:
            progress("episode", n=n, total=len(episodes), episode=episode)
        on_audio = (lambda done, total: progress("audio", done=done, total=total)) if progress else None
        try:
            _, source, info = transcribe_episode(db, episode, on_progress=on_audio, **options)
        except (TranscribeError, OSError) as exc:
            if isinstance(exc, OSError):  # disk full, folder not writable: nothing half-written
                exc = f"cannot write transcript files: {exc.strerror or exc}"
            db["episodes"].update(episode["id"], {"status": "failed", "error": f"transcribe: {exc}",
                                                  "attempts": (episode["attempts"] or 0) + 1,
                                                  "updated": utcnow()})
            result["failed"] += 1
            result["errors"].append((episode["id"], str(exc)))
            log.warning("event=transcribe episode=%d status=failed error=%r", episode["id"], str(exc))
            continue
        result["transcribed"] += 1
        result[source] += 1
        log.info("event=transcribe episode=%d status=ok source=%s audio_s=%.1f seconds=%.1f", episode["id"],
                 source, info["duration"] or 0, info["seconds"])
        if progress:
            progress("done", source=source, rtf=info["seconds"] / info["duration"] if info["duration"] else 0)
    return result
