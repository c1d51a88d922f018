"""The pipeline's stages as commands (ingest, download, transcribe, diarize,
extract, classify, embed, link) and `podpipe run`, with their progress and summaries."""
import contextlib
import signal
import sys

import click

from ..output import print_rows
from .options import (EXIT_FAILED, audio_dir_option, db_option, extractor_option, get_db, silent_option,
                      transcripts_dir_option)


def max_attempts_option(fn):
    return click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
                        help="Stop retrying an episode after this many failures ('podpipe retry' re-queues it)")(fn)


def download_options(fn):
    for decorator in reversed([
        click.option("--limit", type=click.IntRange(min=1), help="Download at most N episodes"),
        click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
                     help="Parallel downloads"),
        click.option("--max-bytes", type=click.IntRange(min=1), default=1024 ** 3, show_default=True,
                     help="Refuse files larger than this"),
        max_attempts_option,
        audio_dir_option,
        silent_option,
    ]):
        fn = decorator(fn)
    return fn


def speakers_option(fn):
    return click.option("--speakers", "max_speakers", type=click.IntRange(1, 20), metavar="N",
                        help="At most N speakers (default: the feed's hosts and guests, else estimated)")(fn)


def transcribe_options(fn):
    for decorator in reversed([
        click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)"),
        click.option("--model", help="Model: base (default, bundled), tiny.en (bundled), a directory, or a name"),
        click.option("--engine", type=click.Choice(["faster-whisper", "openai-whisper"]),
                     default="faster-whisper", show_default=True, help="Speech-to-text engine"),
        click.option("--language", help="Language code, e.g. en (default: detect)"),
        click.option("--vad/--no-vad", default=True, show_default=True, help="Skip silence with a voice detector"),
        click.option("--word-timestamps", is_flag=True, help="Store a time for every word"),
        click.option("--beam-size", type=click.IntRange(1, 20), default=5, show_default=True),
        click.option("--force-whisper", is_flag=True, help="Transcribe even when the feed gave a transcript"),
        click.option("--diarize/--no-diarize", default=False, envvar="PODPIPE_DIARIZE", show_default=True,
                     help="Find who spoke when in Whisper transcripts and name them (diarize extra; "
                          "env PODPIPE_DIARIZE)"),
        speakers_option,
        transcripts_dir_option,
    ]):
        fn = decorator(fn)
    return fn


def cluster_options(fn):
    fn = click.option("--audio-to-workers", type=click.Choice(["auto", "url", "bytes"]), default="auto",
                      show_default=True,
                      help="How audio reaches cluster workers: they download the enclosure (url, checked "
                           "against its SHA-256) or get the file's bytes from here (bytes)")(fn)
    return click.option("--cluster", metavar="ADDRESS",
                        help="Run Whisper, diarization, extraction and sentence embeddings on the Dask "
                             "scheduler at ADDRESS, e.g. tcp://HOST:8786 (env PODPIPE_CLUSTER); this machine "
                             "still writes the database")(fn)


def with_executor(opts):
    """Options with ``--cluster``/``--audio-to-workers`` turned into an ``executor``."""
    address, audio = opts.pop("cluster", None), opts.pop("audio_to_workers", "auto")
    if not address:
        return opts
    from ..cluster import executor_for

    executor = executor_for(address, audio=audio, notify=lambda line: click.echo(line, err=True))
    click.get_current_context().call_on_close(executor.client.close)
    click.echo(f"running on the {executor.description}", err=True)
    return {**opts, "executor": executor}


@contextlib.contextmanager
def stage_progress(silent):
    """Progress on stderr: episodes done; for Whisper, episode N of M, audio
    seconds done and the real-time factor."""
    if silent:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:.0f}/{task.total:.0f}{task.fields[unit]}"),
               TextColumn("{task.fields[note]}"))
    bar = Progress(*columns, console=Console(stderr=True))
    task = None

    def progress(event, stage=None, **f):
        nonlocal task
        # started once there is work: no empty bar, no stray line before an error
        if not bar.live.is_started and (event != "start" or f["total"]):
            bar.start()
        if event == "start":
            task = bar.add_task(stage, total=f["total"], unit=" episodes", note="") if f["total"] else None
        elif event == "episode":
            task = bar.add_task(f"episode {f['n']} of {f['total']}", unit=" s audio", note="",
                                total=f["episode"].get("duration_s") or 1)
        elif event == "audio":
            bar.update(task, completed=f["done"], total=f["total"])
        elif event == "done" and stage == "transcribe":
            if f["source"] == "publisher":
                bar.update(task, completed=bar.tasks[-1].total, note="publisher transcript")
            else:
                bar.update(task, note=f"real-time factor {f['rtf']:.2f}")
        elif event == "done" and task is not None:
            bar.advance(task)

    try:
        yield progress
    finally:
        if bar.live.is_started:
            bar.stop()


# What each stage's command prints when it is done, and what `podpipe run` prints.
SUMMARY = {
    "ingest": "{new} new, {updated} updated, {unchanged} unchanged, {not_modified} feeds not modified, "
              "{failed} feeds failed",
    "download": "{downloaded} downloaded, {failed} failed",
    "transcribe": "{transcribed} transcribed ({publisher} from publisher transcripts, {whisper} by Whisper), "
                  "{failed} failed",
    "diarize": "{diarized} diarized, {failed} failed",
    "extract": "{items} items from {episodes} episodes",
    "embed": "{passages} passages and {items} items embedded from {episodes} episodes, {duplicates} near-duplicate groups",
    "link": "{episodes} episodes linked, {items_linked} items linked, {suggestions} uncertain matches waiting "
            "('podpipe profiles matches')",
}


RUN_SUMMARY = {
    "ingest": "ingest: {new} new, {updated} updated, {failed} feeds failed",
    "download": "download: {downloaded} downloaded, {failed} failed",
    "transcribe": "transcribe: {transcribed} transcribed ({publisher} publisher, {whisper} Whisper), {failed} failed",
    "extract": "extract: {items} items from {episodes} episodes",
    "embed": "embed: {passages} passages and {items} items from {episodes} episodes",
    "link": "link: {items_linked} items linked, {suggestions} uncertain matches waiting",
}


def run_pipeline(db, stages, episode_ids=None, *, command, silent=False, **options):
    """``stages.run_stages``, telling the user as it goes (on stderr)."""
    from ..stages import run_stages

    with stage_progress(silent) as progress:
        return run_stages(db, stages, episode_ids, command=command, progress=progress,
                          notify=lambda line: click.echo(line, err=True), **options)


def stop_on_sigterm():
    """SIGTERM (from cron, systemd, kill) stops at the next safe point like Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))


def exit_interrupted(results, unfinished=None):
    """Say what an interrupted run finished and saved, and exit 130 (as a shell does for Ctrl-C).
    unfinished: the stage that was stopped, whose completed work is saved too."""
    done = [f"{r.stage}: {r.counts}" for r in results] + ([f"{unfinished}: what completed before the stop"]
                                                          if unfinished else [])
    done = "; ".join(done) or "nothing"
    click.echo(f"interrupted; finished and saved: {done}. Run again to continue.", err=True)
    sys.exit(130)


def run_stage_command(db, stage, episode_ids=None, **options):
    """One stage as its own command: its summary, and exit status 1 if any episode failed.
    Ctrl-C or SIGTERM stops it at a safe point (exit status 130)."""
    from ..stages import Interrupted

    stop_on_sigterm()
    try:
        [result] = run_pipeline(db, [stage], episode_ids, command=stage, **options)
    except Interrupted as exc:
        exit_interrupted(exc.results, stage)
    click.echo(SUMMARY[stage].format(**result.counts))
    if result.errors:
        sys.exit(EXIT_FAILED)


@click.command()
@click.argument("feeds_", metavar="[FEED]...", nargs=-1)
@db_option
def ingest(feeds_, db_path):
    """Fetch feeds and store their episodes (all subscribed feeds by default).

    \b
    Examples:
        podpipe ingest                       # every subscribed feed
        podpipe ingest feeds/demo/feed.xml   # subscribes first if needed
    """
    from ..subscriptions import subscribe

    db = get_db(db_path, lock=True, create=True)
    run_stage_command(db, "ingest", feeds=subscribe(db, feeds_), silent=True)


@click.command(name="download")
@download_options
@db_option
def download_cmd(db_path, **opts):
    """Download audio and publisher transcripts of ingested episodes."""
    run_stage_command(get_db(db_path, lock=True, create=True), "download", **opts)


@click.command(name="transcribe")
@transcribe_options
@click.option("--limit", type=click.IntRange(min=1), help="Transcribe at most N episodes")
@max_attempts_option
@cluster_options
@silent_option
@db_option
def transcribe_cmd(db_path, episode_ids, **opts):
    """Transcribe downloaded episodes (publisher transcripts first, else Whisper).

    \b
    Examples:
        podpipe transcribe
        podpipe transcribe --episode 3 --model tiny.en --word-timestamps
    """
    run_stage_command(get_db(db_path, lock=True, create=True), "transcribe", episode_ids, **with_executor(opts))


@click.command(name="diarize")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@speakers_option
@click.option("--force", is_flag=True, help="Also episodes whose speakers are already named")
@cluster_options
@silent_option
@db_option
def diarize_cmd(episode_ids, db_path, **opts):
    """Name the speakers of Whisper transcripts already in the database.

    \b
    Examples:
        podpipe diarize                      # Whisper transcripts without speakers
        podpipe diarize --episode 3 --force  # again; editors' corrections are kept
    """
    run_stage_command(get_db(db_path, lock=True, create=True), "diarize", episode_ids, **with_executor(opts))


@click.command(name="extract")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@click.option("--rescore", is_flag=True, help="Extract again from episodes done before")
@click.option("--limit", type=click.IntRange(min=1), help="At most N episodes")
@extractor_option
@db_option
def extract_cmd(episode_ids, rescore, limit, extractor, db_path):
    """Extract quotes and tips from transcripts, linked to who said them.

    \b
    Re-running replaces the machine's items but never an editor's decision.
    """
    run_stage_command(get_db(db_path, lock=True, create=True), "extract", episode_ids, rescore=rescore, limit=limit,
                      extractor=extractor, silent=True)


@click.command()
@click.argument("input", type=click.File("r"), default="-")
@click.option("--context", help="What the speaker said just before (the same context for every line)")
@extractor_option
def classify(input, context, extractor):
    """Classify sentences, one a line, as tip, quote or none, with a calibrated score.

    \b
    Example:
        echo "Talk to your customers every week." | podpipe classify
        echo "So do that first." | podpipe classify --context "Write down the one metric."
    """
    from ..extract.stage import classify_lines

    print_rows(classify_lines(input, context=context, extractor=extractor), "nl")


@click.command(name="embed")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@click.option("--limit", type=click.IntRange(min=1), help="At most N episodes")
@cluster_options
@db_option
def embed_cmd(episode_ids, limit, db_path, **opts):
    """Store sentence vectors of passages and items, for search by meaning.

    \b
    Only new or changed episodes and items are embedded; a new model embeds
    everything again. Near-duplicate items are grouped as they come.
    With --cluster the encoding runs on the workers; vectors are saved here.
    """
    run_stage_command(get_db(db_path, lock=True, create=True), "embed", episode_ids, limit=limit, silent=True,
                      **with_executor(opts))


@click.command(name="link")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def link_cmd(episode_ids, db_path):
    """Link transcript speakers and items to people and their roles."""
    run_stage_command(get_db(db_path, lock=True, create=True), "link", episode_ids, silent=True)


@click.command()
@click.argument("feeds_", metavar="[FEED]...", nargs=-1)
@click.option("--stages", default="ingest,download,transcribe,extract,embed,link", show_default=True,
              help="Comma-separated stages to run, in pipeline order")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only episodes published on or after DATE")
@download_options
@transcribe_options
@extractor_option
@cluster_options
@db_option
def run(feeds_, stages, db_path, since, episode_ids, **opts):
    """Run every stage in order, doing only the work not yet done.

    \b
    Examples:
        podpipe run feeds/demo/feed.xml
        podpipe run --stages download,transcribe --limit 5
        podpipe run --cluster tcp://10.0.0.5:8786   # Whisper on a Dask cluster
    """
    from ..maintenance import clean_temp_files
    from ..stages import PIPELINE, Interrupted
    from ..subscriptions import subscribe

    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in PIPELINE]
    if unknown:
        raise click.UsageError(f"unknown stage {unknown[0]!r}; choose from {', '.join(PIPELINE)}")
    db = get_db(db_path, lock=True, create=True)
    # we hold the lock, so any temp file lying about was left by a killed run
    clean_temp_files(db, opts["audio_dir"], opts["transcripts_dir"])
    feeds = subscribe(db, feeds_)
    opts = with_executor(opts)
    stop_on_sigterm()
    try:
        results = run_pipeline(db, wanted, episode_ids, command="run", feeds=feeds,
                               since=since.date().isoformat() if since else None,
                               on_result=lambda r: click.echo(RUN_SUMMARY[r.stage].format(**r.counts)), **opts)
    except Interrupted as exc:
        exit_interrupted(exc.results)
    if any(r.errors for r in results):
        sys.exit(EXIT_FAILED)
