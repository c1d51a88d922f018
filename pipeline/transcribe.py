"""Transcription stage: a publisher transcript when the feed gave one, else
Whisper; segments into SQLite and transcript files on disk, atomically."""
import contextlib
import logging
import time
from pathlib import Path

from . import transcript_formats as formats
from .db import utcnow
from .errors import PodpipeError
from .queue import pending_episodes
from .transcripts import save_transcript

# Publisher formats in the order we prefer them: speakers and timings first.
PREFERRED = ("vtt", "json", "srt", "html", "txt")
log = logging.getLogger("podpipe.transcribe")


class TranscribeError(PodpipeError):
    """An episode that could not be transcribed; one line for the user."""


def pending_transcriptions(db, *, episode_ids=None, limit=None, max_attempts=3, since=None):
    """Downloaded episodes that have no transcript yet, or whose audio is newer than it.

    Saving a transcript marks the episode transcribed, so a transcript beside
    a "downloaded" episode was made from audio the feed has since replaced
    under the same guid. An editor's imported transcript is kept all the same.
    """
    return pending_episodes(db, "e.audio_path is not null and not exists (select 1 from transcripts t "
                            "where t.episode_id = e.id and (e.status != 'downloaded' or t.source = 'import'))",
                            episode_ids=episode_ids, since=since, max_attempts=max_attempts, limit=limit)


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


def whisper_job(db, episode, *, model=None, engine="faster-whisper", language=None, vad=True,
                word_timestamps=False, beam_size=5, cache_dir=None, diarize=False, max_speakers=None):
    """Everything ``run_whisper`` needs for one episode, as plain data (no database)."""
    from .cluster import audio_source

    job = {"episode_id": episode["id"], "audio": audio_source(episode), "model": model, "engine": engine,
           "cache_dir": cache_dir, "language": language, "vad": vad, "word_timestamps": word_timestamps,
           "beam_size": beam_size, "prompt": episode_prompt(db, episode), "diarize": None}
    if diarize:
        from .speakers import diarize_options
        job["diarize"] = diarize_options(db, episode, max_speakers)
        job["word_timestamps"] = True  # a segment is split where its words change speaker
    return job


def run_whisper(job, on_progress=None):
    """Transcribe (and with ``job["diarize"]``, diarize) one episode's audio.

    Pure: a ``whisper_job`` in, a result dict out, here or on a cluster
    worker; models load once per process. Raises ``TranscribeError`` for the
    episode's own audio, ``ModelError`` for the configuration.
    """
    from .asr import AudioError, load_audio, load_model, transcribe_audio
    from .cluster import local_audio, task_threads

    # on a cluster worker, its share of the host's cores; here, every core
    loaded = load_model(job["model"], engine=job["engine"], cache_dir=job["cache_dir"],
                        cpu_threads=task_threads() or 0)
    if job["diarize"]:
        from .diarize import load_encoder
        load_encoder()  # DiarizeUnavailable now, before minutes of Whisper, if the extra is missing
    started = time.perf_counter()
    try:
        with local_audio(job["audio"]) as path:
            # decoded once: diarization listens to the same samples
            audio = load_audio(path) if job["diarize"] else None
            info, segments = transcribe_audio(loaded, path, audio=audio, language=job["language"], vad=job["vad"],
                                              word_timestamps=job["word_timestamps"], beam_size=job["beam_size"],
                                              prompt=job["prompt"], on_progress=on_progress)
    except AudioError as exc:
        raise TranscribeError(str(exc)) from None
    seconds = time.perf_counter() - started
    diarization, diarize_seconds = None, 0.0
    if job["diarize"]:
        from .diarize import diarize_audio
        started = time.perf_counter()
        diarization = diarize_audio(audio, **job["diarize"])
        diarize_seconds = time.perf_counter() - started
    return {"engine": loaded.engine, "model": loaded.model, "language": info["language"],
            "duration": info["duration"], "segments": segments, "seconds": seconds,
            "diarization": diarization, "diarize_seconds": diarize_seconds}


def save_whisper(db, episode, result, *, transcripts_dir="transcripts"):
    """Store a ``run_whisper`` result: voices named (from what the database knows),
    then the labels and the transcript in one transaction. Returns the transcript id."""
    segments, labels = result["segments"], None
    if result["diarization"] is not None:
        from .speakers import name_speakers
        segments, labels = name_speakers(db, episode, segments, result["diarization"])
    with db.atomic():  # the voices' names and the transcript land together
        if labels is not None:
            from .speakers import save_labels
            save_labels(db, episode, labels)
        return save_transcript(db, episode, segments, source="whisper", engine=result["engine"],
                               model=result["model"], language=result["language"],
                               audio_duration=result["duration"], processing_s=round(result["seconds"], 3),
                               transcripts_dir=transcripts_dir)


def save_publisher(db, episode, parsed, *, transcripts_dir="transcripts"):
    """Store a publisher's transcript (from ``publisher_transcript``). Returns the transcript id."""
    return save_transcript(db, episode, parsed["segments"], source="publisher",
                           engine=f"publisher-{parsed['format']}", language=None,
                           audio_duration=episode.get("duration_s"), processing_s=0.0,
                           transcripts_dir=transcripts_dir)


def _info(source, episode, result):
    if source == "publisher":
        return {"duration": episode.get("duration_s") or 0, "seconds": 0.0}
    return {"duration": result["duration"], "seconds": result["seconds"], "diarize_seconds": result["diarize_seconds"]}


def transcribe_episode(db, episode, *, force_whisper=False, transcripts_dir="transcripts", on_progress=None,
                       **options):
    """Transcribe one episode here; returns (transcript_id, source, info dict).

    ``options`` are those of ``whisper_job``; ``diarize`` names the speakers
    of a Whisper transcript (pipeline.speakers; needs the diarize extra).
    """
    parsed = None if force_whisper else publisher_transcript(db, episode["id"])
    if parsed:
        return save_publisher(db, episode, parsed, transcripts_dir=transcripts_dir), "publisher", _info(
            "publisher", episode, None)
    result = run_whisper(whisper_job(db, episode, **options), on_progress)
    return save_whisper(db, episode, result, transcripts_dir=transcripts_dir), "whisper", _info(
        "whisper", episode, result)


def _jobs(db, episodes, force_whisper, options):
    """(episode, parsed publisher transcript), whisper job or None) for each episode."""
    for episode in episodes:
        parsed = None if force_whisper else publisher_transcript(db, episode["id"])
        yield (episode, parsed), (None if parsed else whisper_job(db, episode, **options))


def transcribe(db, *, episode_ids=None, limit=None, max_attempts=3, since=None, progress=None, executor=None,
               force_whisper=False, transcripts_dir="transcripts", **options):
    """Transcribe every pending episode. ``progress(event, **fields)`` reports
    "episode" (n, total, episode), "audio" (done, total; in this process only)
    and "done" (rtf). ``executor`` (pipeline.cluster) runs Whisper elsewhere;
    the results are saved here, in episode order.

    Returns {"transcribed", "publisher", "whisper", "failed", "errors"}.
    ModelError propagates: it is a configuration problem, not an episode's.
    """
    episodes = pending_transcriptions(db, episode_ids=episode_ids, limit=limit, max_attempts=max_attempts,
                                      since=since)
    from .cluster import InProcess

    executor = executor or InProcess()
    result = {"transcribed": 0, "publisher": 0, "whisper": 0, "failed": 0, "errors": []}
    on_audio = (lambda done, total: progress("audio", done=done, total=total)) if progress else None
    outcomes = executor.map(run_whisper, _jobs(db, episodes, force_whisper, options), on_progress=on_audio)
    with contextlib.closing(outcomes):
        for n, ((episode, parsed), outcome) in enumerate(outcomes, 1):
            if progress:
                progress("episode", n=n, total=len(episodes), episode=episode)
            try:
                if parsed:
                    save_publisher(db, episode, parsed, transcripts_dir=transcripts_dir)
                    source, info = "publisher", _info("publisher", episode, None)
                else:
                    whisper = outcome()
                    save_whisper(db, episode, whisper, transcripts_dir=transcripts_dir)
                    source, info = "whisper", _info("whisper", episode, whisper)
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
