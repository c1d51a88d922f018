"""The pipeline as a library: every stage is a function over the database and
optional episode ids that returns a ``StageResult``, and ``run_stages`` runs
several in order and records the run in ``runs``.

The CLI, a web app or another executor call these and get the same
behaviour::

    from pipeline.db import open_db
    from pipeline.stages import run_stages

    results = run_stages(open_db("db/podpipe.db"), ["ingest", "download", "transcribe"],
                         feeds=["feeds/demo/feed.xml"], model="tiny.en")

Each stage does only the work not yet done, so a stage may be run again, or
on other episode ids elsewhere, at any time. Two optional callbacks report
as the work goes: ``notify(line)`` with a sentence for the user ("failed:
episode 3: HTTP 404 NOT FOUND"), and ``progress(event, stage=..., **fields)``
with "start" (total), "episode" (n, total, episode; transcribe only),
"audio" (done, total; transcribe only) and "done" (episode; for transcribe
also source and rtf).
"""
import collections
import inspect
import os
from dataclasses import dataclass, field

from .download import DEFAULT_MAX_BYTES
from .runs import finish_run, start_run

PIPELINE = ("ingest", "download", "transcribe", "extract", "embed", "link")


@dataclass
class StageResult:
    """What a stage did: counts, and one error per episode (or feed) that failed."""

    stage: str
    counts: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # [{"episode_id": id, "error": message}]; ingest: "feed"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during run_stages; ``results`` are the stages that finished."""

    def __init__(self, results):
        super().__init__()
        self.results = results


def _quiet(*_, **__):
    pass


def _episode_errors(errors, notify):
    """(episode_id, message) pairs from a stage function as errors, told to the user."""
    for episode_id, message in errors:
        notify(f"failed: episode {episode_id}: {message}")
    return [{"episode_id": episode_id, "error": message} for episode_id, message in errors]


def _with_stage(progress, stage):
    return (lambda event, **fields: progress(event, stage=stage, **fields)) if progress else None


# --- the stages ----------------------------------------------------------------

PARALLEL_FEEDS = 4  # from this many feeds on, they are parsed in worker processes
WORKERS = os.cpu_count() or 1


def ingest(db, episode_ids=None, *, feeds=None, client=None, policy=None, notify=None):
    """Fetch feeds (by id, URL or title; all subscribed ones by default) and store their episodes.

    Works on feeds, not episodes: ``episode_ids`` is accepted and ignored.

    With PARALLEL_FEEDS feeds or more, those that changed are parsed in a worker
    process per core while this one fetches the next and saves the parsed ones,
    in order (parsing is nine tenths of a cold ingest, and feedparser is pure
    Python). Saving stays here, one transaction per feed, as before.
    """
    from .feeds import (NOT_MODIFIED, FeedError, feed_rows, fetch_for_ingest, parse_feed, parse_for_ingest,
                        save_ingested)

    notify = notify or _quiet
    if client is None:
        # one client, one connection pool, for the whole run: a client per feed loaded
        # the TLS certificate store each time (~25 ms), more than a 304 takes
        from .http_client import make_client

        with make_client() as client:
            return ingest(db, episode_ids, feeds=feeds, client=client, policy=policy, notify=notify)
    result = StageResult("ingest", {"new": 0, "updated": 0, "unchanged": 0, "not_modified": 0, "failed": 0})
    totals = result.counts

    def finish(url, fetched, parsed):
        """Save one fetched feed (parsed: a future of its first page, or None to parse here) and report it."""
        try:
            if isinstance(fetched, FeedError):
                raise fetched
            if fetched["content"] is None:
                counts = NOT_MODIFIED
            else:
                first = parse_for_ingest(db, fetched, parsed)
                counts = save_ingested(db, fetched, first, client=client, policy=policy,
                                       warn=lambda message: notify(f"warning: {url}: {message}"))
        except FeedError as exc:
            totals["failed"] += 1
            result.errors.append({"feed": url, "error": str(exc)})
            notify(f"failed: {url}: {exc}")
            return
        for k in ("new", "updated", "unchanged", "not_modified"):
            totals[k] += counts[k]
        if counts["not_modified"]:
            notify(f"not modified: {url}")
        else:
            dup = f", {counts['duplicate']} duplicate items skipped" if counts["duplicate"] else ""
            notify(f"ingested: {url}: {counts['new']} new, {counts['updated']} updated, "
                   f"{counts['unchanged']} unchanged{dup}")

    rows = list(feed_rows(db, feeds))
    pool, pending = None, collections.deque()  # pending: (url, fetched, future), in feed order
    try:
        for feed in rows:
            try:
                fetched = fetch_for_ingest(db, feed["url"], client=client, policy=policy)
            except FeedError as exc:
                fetched = exc
            changed = isinstance(fetched, dict) and fetched["content"]
            if changed and pool is None and len(rows) >= PARALLEL_FEEDS:
                pool = _parse_pool()
            future = pool.submit(parse_feed, fetched["content"], fetched["base"], fetched["root"]) \
                if changed and pool else None
            pending.append((feed["url"], fetched, future))
            # save in feed order; at most two feeds a worker wait in memory
            while pending and (pool is None or len(pending) > 2 * WORKERS or pending[0][2] is None):
                finish(*pending.popleft())
        while pending:
            finish(*pending.popleft())
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return result


def _parse_pool():
    """Worker processes for parsing feeds, one per core, forked: "spawn" and
    "forkserver" would run the main module again in each worker, and a script
    without a __main__ guard would start over there. The workers only parse
    bytes into dicts (feedparser, ElementTree), touching none of the locks a
    thread of this process might hold; logging's are made anew at fork."""
    import concurrent.futures
    import multiprocessing

    return concurrent.futures.ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"),
                                                  initializer=_die_with_parent, initargs=(os.getpid(),))


def _die_with_parent(parent):
    """Make a parsing worker end when this process does, even killed: a forked worker
    holds both ends of its task pipe, so it would wait for work forever."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent was gone before that took effect
        os._exit(1)


def download(db, episode_ids=None, *, limit=None, since=None, max_attempts=3, audio_dir="audio", concurrency=4,
             max_bytes=DEFAULT_MAX_BYTES, client=None, policy=None, progress=None, notify=None):
    """Download the audio and publisher transcripts of ingested episodes."""
    from . import download as stage

    if progress:
        pending = stage.pending_downloads(db, episode_ids=episode_ids, max_attempts=max_attempts, limit=limit,
                                          since=since)
        progress("start", stage="download", total=len(pending))
    done = _with_stage(progress, "download")
    counts = stage.download(db, episode_ids=episode_ids, limit=limit, since=since, max_attempts=max_attempts,
                            audio_dir=audio_dir, concurrency=concurrency, max_bytes=max_bytes, client=client,
                            policy=policy, progress=(lambda ep: done("done", episode=ep)) if done else None)
    errors = _episode_errors(counts.pop("errors"), notify or _quiet)
    return StageResult("download", counts, errors)


def transcribe(db, episode_ids=None, *, limit=None, since=None, max_attempts=3, model=None,
               engine="faster-whisper", language=None, vad=True, word_timestamps=False, beam_size=5,
               force_whisper=False, transcripts_dir="transcripts", diarize=False, max_speakers=None,
               cache_dir=None, executor=None, progress=None, notify=None):
    """Transcribe downloaded episodes: the publisher's transcript when there is
    one, else Whisper (naming the speakers with ``diarize``), here or with an
    ``executor`` from pipeline.cluster."""
    from . import transcribe as stage

    notify = notify or _quiet
    if diarize:
        from .diarize import MISSING_EXTRA, available
        if not available():
            notify(f"{MISSING_EXTRA}; transcribing without speakers")
            diarize = False
    counts = stage.transcribe(db, episode_ids=episode_ids, limit=limit, since=since, max_attempts=max_attempts,
                              model=model, engine=engine, language=language, vad=vad,
                              word_timestamps=word_timestamps, beam_size=beam_size, force_whisper=force_whisper,
                              transcripts_dir=transcripts_dir, diarize=diarize, max_speakers=max_speakers,
                              cache_dir=cache_dir, executor=executor, progress=_with_stage(progress, "transcribe"))
    errors = _episode_errors(counts.pop("errors"), notify)
    return StageResult("transcribe", counts, errors)


def diarize(db, episode_ids=None, *, limit=None, since=None, max_attempts=3, force=False, max_speakers=None,
            executor=None, progress=None, notify=None):
    """Name the speakers of Whisper transcripts already stored (``force``: again,
    keeping editors' corrections). Needs the diarize extra. ``executor``
    (pipeline.cluster) runs the diarization elsewhere; voices are named here."""
    import contextlib

    from .cluster import InProcess
    from .diarize import MISSING_EXTRA, DiarizeUnavailable, available
    from .speakers import diarize_job, pending_diarizations, run_diarize, save_diarization

    if not available():
        raise DiarizeUnavailable(MISSING_EXTRA)
    notify = notify or _quiet
    episodes = pending_diarizations(db, episode_ids=episode_ids, force=force, limit=limit, since=since,
                                    max_attempts=max_attempts)
    result = StageResult("diarize", {"diarized": 0, "failed": 0})
    if progress:
        progress("start", stage="diarize", total=len(episodes))
    without_words = [e for e in episodes if db.execute(
        "select count(words) from segments where transcript_id = ?", [e["transcript_id"]]).fetchone()[0] == 0]
    for episode in without_words:
        _record_diarization(db, result, episode, lambda: _diarize_with_words(db, episode, max_speakers), notify,
                            progress)
    jobs = ((episode, diarize_job(db, episode, max_speakers=max_speakers))
            for episode in episodes if episode not in without_words)
    with contextlib.closing((executor or InProcess()).map(run_diarize, jobs)) as outcomes:
        for episode, outcome in outcomes:
            _record_diarization(db, result, episode, lambda: save_diarization(db, episode, outcome()), notify,
                                progress)
    return result


def _record_diarization(db, result, episode, work, notify, progress):
    """Run one episode's diarization and count it, or mark the episode failed."""
    from .asr import AudioError
    from .db import utcnow
    from .transcribe import TranscribeError

    try:
        rows = work()
    except (AudioError, TranscribeError, OSError) as exc:
        message = f"cannot write transcript files: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        db["episodes"].update(episode["id"], {"status": "failed", "error": f"diarize: {message}",
                                              "attempts": (episode["attempts"] or 0) + 1, "updated": utcnow()})
        result.counts["failed"] += 1
        result.errors.append({"episode_id": episode["id"], "error": message})
        notify(f"failed: episode {episode['id']}: {message}")
    else:
        result.counts["diarized"] += 1
        notify(f"episode {episode['id']}: " + ", ".join(
            f"{r['label']} = {r['name'] or 'unknown'} ({r['confidence']:.2f})" for r in rows))
    if progress:
        progress("done", stage="diarize", episode=episode)


def _diarize_with_words(db, episode, max_speakers):
    """Without word times a Whisper segment often spans both voices and goes
    whole to the one heard most (the host): transcribe again with words, as
    transcribe --diarize does, with the same model. Items move to the new
    transcript and the episode goes back to extraction."""
    from pathlib import Path

    from .transcribe import transcribe_episode

    # transcripts.model is stored as "ENGINE-NAME"
    model = (episode.get("transcript_model") or "").removeprefix(f"{episode.get('transcript_engine')}-") or None
    folder = {"transcripts_dir": Path(episode["transcript_path"]).parent.parent} if episode.get("transcript_path") else {}
    transcribe_episode(db, episode, model=model, force_whisper=True, diarize=True, max_speakers=max_speakers, **folder)
    return list(db.query("select * from speaker_labels where episode_id = ? order by label", [episode["id"]]))


def extract(db, episode_ids=None, *, limit=None, since=None, rescore=False, extractor="model", executor=None,
            progress=None,
            notify=None):
    """Extract quotes and tips from transcribed episodes (``rescore``: from every
    transcribed episode again, keeping editors' decisions; ``extractor="rules"``: the hand-written rules alone)."""
    from .extract import stage

    done = _with_stage(progress, "extract")
    counts = stage.extract(db, episode_ids=episode_ids, rescore=rescore, limit=limit, since=since, extractor=extractor,
                           executor=executor,
                           progress=(lambda ep: done("done", episode=ep)) if done else None)
    for episode_id, reason in counts["skipped"]:
        (notify or _quiet)(f"skipped: episode {episode_id}: {reason}")
    return StageResult("extract", {"episodes": counts["episodes"], "items": counts["items"]})


def embed(db, episode_ids=None, *, limit=None, since=None, executor=None, progress=None, notify=None):
    """Store sentence vectors for transcript passages and items (for search by
    meaning) and group near-duplicate items. Needs the extract extra; without
    it the stage says so and does nothing."""
    from . import embed as stage
    from .encoder import MISSING_EXTRA, available

    if not available():
        (notify or _quiet)(f"{MISSING_EXTRA}; skipping embed (search stays full-text)")
        return StageResult("embed", {"episodes": 0, "passages": 0, "items": 0, "duplicates": 0})
    done = _with_stage(progress, "embed")
    counts = stage.embed(db, episode_ids=episode_ids, limit=limit, since=since, executor=executor,
                         progress=(lambda ep: done("done", episode=ep)) if done else None)
    return StageResult("embed", counts)


def link(db, episode_ids=None, *, since=None, notify=None):
    """Link transcript speakers and items to people and their roles."""
    from . import link as stage

    return StageResult("link", stage.link(db, episode_ids, since=since))


STAGES = {"ingest": ingest, "download": download, "transcribe": transcribe, "diarize": diarize,
          "extract": extract, "embed": embed, "link": link}


# --- running several -----------------------------------------------------------

def stage_options(stage, options):
    """The options a stage function takes, from options meant for several stages."""
    params = inspect.signature(STAGES[stage]).parameters
    return {k: v for k, v in options.items() if k in params and params[k].kind == inspect.Parameter.KEYWORD_ONLY}


def run_stages(db, stages=PIPELINE, episode_ids=None, *, command="run", on_result=None, **options):
    """Run stages in order and record the run in ``runs``. Returns [StageResult].

    ``options`` go to every stage that takes them (``since`` and ``limit`` to
    all, ``audio_dir`` to download, ``model`` to transcribe, ``feeds`` to
    ingest, ``notify`` and ``progress`` to all); ``on_result(result)`` is
    called as each stage finishes. The run is "ok", "partial"
    (some episodes failed), "failed" (an error stopped it) or "interrupted"
    (``Interrupted`` is raised, holding the stages that finished).
    """
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    recorded = {k: v for k, v in options.items()
                if k not in ("notify", "progress", "client", "policy", "executor")}
    run_id = start_run(db, command, {"stages": list(stages), "episode_ids": episode_ids, **recorded})
    results = []

    def record(status):
        finish_run(db, run_id, status, {r.stage: r.counts for r in results},
                   [{"stage": r.stage, **e} for r in results for e in r.errors])

    try:
        for stage in stages:
            results.append(STAGES[stage](db, episode_ids, **stage_options(stage, options)))
            if on_result:
                on_result(results[-1])
    except KeyboardInterrupt:
        record("interrupted")
        raise Interrupted(results) from None
    except BaseException:
        record("failed")
        raise
    record("partial" if any(r.errors for r in results) else "ok")
    return results
