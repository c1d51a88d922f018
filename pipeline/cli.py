"""The podpipe command line: parses options, opens the database, calls the
library and prints. The work lives in the stage modules."""
import contextlib
import logging
import os
import signal
import sqlite3
import sys

import click

from . import __version__
from .db import open_db, open_for_reading
from .errors import PodpipeError
from .output import output_options, print_rows

EXIT_FAILED = 1  # some work failed; the rest is done
EXIT_USAGE = 2  # usage or configuration error
log = logging.getLogger("podpipe")


class ConfigProblem(click.ClickException):
    exit_code = EXIT_USAGE


class Podpipe(click.Group):
    """Our group: expected failures from anywhere become one line, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PodpipeError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None
        except BrokenPipeError:
            # the reader went away (podpipe export | head): stop quietly, as cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except sqlite3.DatabaseError as exc:
            raise click.ClickException(f"database error: {exc}") from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


def db_option(fn):
    # no envvar here: $PODPIPE_DB comes in through the configuration (db.resolve_db_path),
    # so that --db, given before or after the command, always beats it
    return click.option("--db", "db_path", type=click.Path(dir_okay=False),
                        help="SQLite database file (env PODPIPE_DB, default db/podpipe.db)")(fn)


def audio_dir_option(fn):
    return click.option("--audio-dir", type=click.Path(file_okay=False), envvar="PODPIPE_AUDIO_DIR",
                        default="audio", show_default=True,
                        help="Folder for downloaded audio (env PODPIPE_AUDIO_DIR)")(fn)


def extractor_option(fn):
    return click.option("--extractor", type=click.Choice(["model", "rules"]), default="model", show_default=True,
                        help="The trained model, or the hand-written rules alone")(fn)


def silent_option(fn):
    return click.option("--silent", is_flag=True, help="No progress bar")(fn)


def get_db(path, lock=False, create=False, read=False):
    """Open the database; with lock, hold the job lock until the command ends;
    read: for a command that only reads (db.open_for_reading: it starts faster).

    Only commands that bring data in (create) make a new database: for the
    others a missing one is an error, so a mistyped --db never looks like an
    empty database, and leaves no file or folder behind.
    """
    ctx = click.get_current_context()
    root = ctx.find_root()
    path = db_path_of(path)
    if not create and not os.path.exists(path):
        raise click.ClickException(f"no database at {path} (check --db or $PODPIPE_DB; "
                                   "'podpipe ingest FEED' creates one)")
    if lock:
        from .maintenance import Lock

        try:
            ctx.with_resource(Lock(path, wait=root.params.get("wait") or 0))
        except OSError as exc:
            raise click.ClickException(f"cannot lock {path}: {exc.strerror}") from None
    try:
        return open_for_reading(path) if read else open_db(path)
    except Exception as exc:  # sqlite3 errors, permissions: one line for the user
        raise click.ClickException(f"cannot open database {path}: {exc}") from None


@click.group(cls=Podpipe)
@click.version_option(__version__, prog_name="podpipe")
@db_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file (default: podpipe.toml in this folder, if any)")
@click.option("-v", "--verbose", count=True, help="Log more (-vv for debug)")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append the log to this file")
@click.option("--wait", type=click.FloatRange(min=0), default=0,
              help="Seconds to wait for another job on the same database to finish")
@click.pass_context
def cli(ctx, db_path, config_path, verbose, log_file, wait):
    """Turn podcast interviews with product managers into a research database."""
    from .config import default_map, load_config

    config = load_config(config_path)
    ctx.obj = {"config": config}
    ctx.default_map = default_map(cli, config)
    if verbose or log_file:
        handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


# --- feeds ------------------------------------------------------------------

@cli.group()
def feeds():
    """Manage the feeds you subscribe to."""


@feeds.command(name="add")
@click.argument("locations", nargs=-1, required=True)
@db_option
def feeds_add(locations, db_path):
    """Subscribe to feeds by URL or local path.

    \b
    Example:
        podpipe feeds add https://example.com/feed.xml feeds/demo/feed.xml
    """
    from .subscriptions import add_feeds

    db = get_db(db_path, create=True)
    for url, added in add_feeds(db, locations):
        click.echo(f"{'added' if added else 'already subscribed'}: {url}")


@feeds.command(name="list")
@db_option
@output_options
def feeds_list(db_path, fmt):
    """List subscribed feeds with episode counts."""
    db = get_db(db_path)
    from .subscriptions import list_feeds

    print_rows(list_feeds(db), fmt)


@feeds.command(name="remove")
@click.argument("feeds_", metavar="FEED...", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Remove without asking")
@click.option("--decisions", "decisions_path", type=click.Path(dir_okay=False),
              help="Save editors' decisions on the feed's items here (default: removed/FEED-TIME.jsonl "
                   "beside the database)")
@db_option
def feeds_remove(feeds_, yes, decisions_path, db_path):
    """Unsubscribe from feeds (by id, URL or title) and delete their episodes and files.

    Says what will go and asks first; editors' decisions on the feed's items
    (approved, rejected, edited, collected) are saved as JSON lines.
    """
    from .db import utcnow
    from .feeds import feed_rows
    from .files import feed_slug
    from .subscriptions import editor_decisions, remove_feed, removal_summary, save_decisions

    db = get_db(db_path, lock=True)
    rows = feed_rows(db, feeds_)
    for feed in rows:
        n = removal_summary(db, feed)
        click.echo(f"{feed['url']}: {plural(n['episodes'], 'episode')}, {plural(n['files'], 'file')}, "
                   f"{plural(n['items'], 'item')} ({n['approved']} approved, {n['rejected']} rejected, "
                   f"{n['edited']} edited)")
        for name, (lost, size) in n["collections"].items():
            click.echo(f"  collection {name} loses {lost} of its {plural(size, 'item')}")
    if not yes:
        try:
            click.confirm(f"Remove {plural(len(rows), 'feed')} and all of the above?", abort=True, err=True)
        except click.Abort:
            raise click.ClickException("nothing removed (answer y, or give --yes)") from None
    # saved before anything is deleted, so a failure to write them removes nothing
    decisions = [row for feed in rows for row in editor_decisions(db, feed)]
    if decisions:
        name = feed_slug(rows[0]["title"], rows[0]["id"]) if len(rows) == 1 else "feeds"
        stamp = utcnow().replace(":", "").replace("+0000", "Z")
        path = decisions_path or os.path.join(os.path.dirname(db_path_of(db_path)) or ".", "removed",
                                               f"{name}-{stamp}.jsonl")
        save_decisions(decisions, path)
        click.echo(f"saved editors' decisions on {plural(len(decisions), 'item')} to {path}")
    for feed in rows:
        n = remove_feed(db, feed)
        click.echo(f"removed: {feed['url']} ({n} episodes)")


@feeds.command(name="import")
@click.argument("opml", type=click.File("rb"))
@db_option
def feeds_import(opml, db_path):
    """Subscribe to every feed in an OPML file."""
    from .feeds import FeedError
    from .subscriptions import add_feeds, parse_opml

    try:
        urls = parse_opml(opml.read())
    except FeedError as exc:
        raise click.ClickException(f"{opml.name}: {exc}") from None
    db = get_db(db_path, create=True)
    results = add_feeds(db, urls)
    added = sum(1 for _, a in results if a)
    click.echo(f"{added} feeds added, {len(results) - added} already subscribed")


@feeds.command(name="export")
@db_option
def feeds_export(db_path):
    """Print the subscriptions as OPML."""
    from .subscriptions import export_opml, list_feeds

    db = get_db(db_path)
    click.echo(export_opml(list_feeds(db)), nl=False)


# --- stages -----------------------------------------------------------------

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
    from .cluster import executor_for

    executor = executor_for(address, audio=audio, notify=lambda line: click.echo(line, err=True))
    click.get_current_context().call_on_close(executor.client.close)
    click.echo(f"running on the {executor.description}", err=True)
    return {**opts, "executor": executor}


def transcripts_dir_option(fn):
    return click.option("--transcripts-dir", type=click.Path(file_okay=False), envvar="PODPIPE_TRANSCRIPTS_DIR",
                        default="transcripts", show_default=True,
                        help="Folder for transcript files (env PODPIPE_TRANSCRIPTS_DIR)")(fn)


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
    from .stages import run_stages

    with stage_progress(silent) as progress:
        return run_stages(db, stages, episode_ids, command=command, progress=progress,
                          notify=lambda line: click.echo(line, err=True), **options)


def run_stage_command(db, stage, episode_ids=None, **options):
    """One stage as its own command: its summary, and exit status 1 if any episode failed."""
    [result] = run_pipeline(db, [stage], episode_ids, command=stage, **options)
    click.echo(SUMMARY[stage].format(**result.counts))
    if result.errors:
        sys.exit(EXIT_FAILED)


@cli.command()
@click.argument("feeds_", metavar="[FEED]...", nargs=-1)
@db_option
def ingest(feeds_, db_path):
    """Fetch feeds and store their episodes (all subscribed feeds by default).

    \b
    Examples:
        podpipe ingest                       # every subscribed feed
        podpipe ingest feeds/demo/feed.xml   # subscribes first if needed
    """
    from .subscriptions import subscribe

    db = get_db(db_path, lock=True, create=True)
    run_stage_command(db, "ingest", feeds=subscribe(db, feeds_), silent=True)


@cli.command(name="download")
@download_options
@db_option
def download_cmd(db_path, **opts):
    """Download audio and publisher transcripts of ingested episodes."""
    run_stage_command(get_db(db_path, lock=True, create=True), "download", **opts)


@cli.command(name="transcribe")
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


@cli.group()
def transcripts():
    """Import and show transcripts."""


@transcripts.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@transcripts_dir_option
@db_option
def transcripts_import(paths, transcripts_dir, db_path):
    """Import transcript files (VTT, SRT, JSON, HTML, text, Markdown).

    \b
    Each is matched to an episode by guid, then title and date; an episode
    is created when none matches.
    """
    from .transcript_import import import_transcripts

    db = get_db(db_path, lock=True, create=True)
    failed = 0
    for path, episode_id, created, error in import_transcripts(db, paths, transcripts_dir=transcripts_dir):
        if error:
            failed += 1
            click.echo(f"failed: {path}: {error}", err=True)
            continue
        click.echo(f"imported: {path} -> episode {episode_id}{' (new)' if created else ''}")
    if failed:
        sys.exit(EXIT_FAILED)


@transcripts.command(name="show")
@click.argument("episode", type=int)
@click.option("--format", "fmt", type=click.Choice(["txt", "vtt", "srt", "json"]), default="txt",
              show_default=True)
@db_option
def transcripts_show(episode, fmt, db_path):
    """Print an episode's transcript."""
    from .transcript_formats import write
    from .transcripts import segments_of, transcript_of

    db = get_db(db_path)
    transcript = transcript_of(db, episode)
    if not transcript:
        raise click.ClickException(f"episode {episode} has no transcript (run 'podpipe transcribe')")
    click.echo(write(segments_of(db, transcript["id"]), fmt), nl=False)


@cli.command(name="diarize")
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


@cli.command()
@click.argument("episode", type=int)
@click.option("--set", "corrections", multiple=True, metavar="LABEL=NAME",
              help='Name a voice, e.g. --set "SPEAKER_1=Corie Miller" (or =unknown); kept when re-run')
@db_option
@output_options
def speakers(episode, corrections, db_path, fmt):
    """Show who speaks in an episode (a sample line each), or correct it.

    \b
    Examples:
        podpipe speakers 3
        podpipe speakers 3 --set "SPEAKER_1=Corie Miller"
    """
    from .speakers import set_speaker, speaker_summary

    db = get_db(db_path, lock=bool(corrections))
    for correction in corrections:
        label, sep, name = correction.partition("=")
        if not sep:
            raise click.BadParameter(f"{correction!r} is not LABEL=NAME", param_hint="--set")
        set_speaker(db, episode, label.strip().upper(), name)
    rows = speaker_summary(db, episode)
    print_rows(rows, fmt)


@cli.command(name="extract")
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


@cli.command()
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
    from .extract.stage import classify_lines

    print_rows(classify_lines(input, context=context, extractor=extractor), "nl")


@cli.command(name="embed")
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


@cli.command(name="link")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def link_cmd(episode_ids, db_path):
    """Link transcript speakers and items to people and their roles."""
    run_stage_command(get_db(db_path, lock=True, create=True), "link", episode_ids, silent=True)


@cli.group()
def profiles():
    """Role profiles: roles and the people who hold them."""


@profiles.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@db_option
def profiles_import(paths, db_path):
    """Import role pages (Markdown, text) or profile files (YAML, JSON)."""
    from .profiles import ProfileError, import_profiles

    db = get_db(db_path, lock=True, create=True)
    failed = False
    for path in paths:
        try:
            counts = import_profiles(db, path)
        except ProfileError as exc:
            click.echo(f"failed: {exc}", err=True)
            failed = True
            continue
        click.echo(f"imported: {path}: {counts['roles']} roles, {counts['people']} people, "
                   f"{counts['items']} new quotes and tips")
    if failed:
        sys.exit(EXIT_FAILED)


@profiles.command(name="list")
@db_option
@output_options
def profiles_list(db_path, fmt):
    """List people with their role and how many items they have."""
    db = get_db(db_path)
    from .profiles import list_people

    print_rows(list_people(db), fmt)


def _clock(seconds):
    seconds = int(seconds or 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"


@profiles.command(name="show")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1), default=5, show_default=True, help="Quotes and tips to show of each")
@db_option
def profiles_show(name, limit, db_path):
    """Show a person's profile, role, quotes and tips with citations."""
    import json as _json

    from .profiles import profile

    db = get_db(db_path)
    found = profile(db, name, per_kind=limit)
    if not found:
        raise click.ClickException(f"no person named {name!r} (see 'podpipe profiles list')")
    person, role = found["person"], found["role"]
    click.echo(person["name"])
    for label, key in (("Title", "title"), ("Organization", "organization"),
                       ("About the organization", "organization_description"), ("Location", "location"),
                       ("Education", "education"), ("Background", "background")):
        if person[key]:
            click.echo(f"{label}: {person[key]}")
    past = [h for h in _json.loads(person.get("history") or "[]") if h["tense"] == "past"]
    if past:
        click.echo("Before: " + "; ".join(f"{h['title']} at {h['organization']}" if h["organization"]
                                          else h["title"] for h in past))
    if role:
        click.echo(f"\nRole: {role['name']}")
        if role["definition"]:
            click.echo(f"  {role['definition']}")
        for label, key in (("Works with", "works_with"), ("Responsibilities", "responsibilities"),
                           ("Adjacent roles", "adjacent_roles")):
            if role[key]:
                values = _json.loads(role[key])
                click.echo(f"  {label}: " + ("; ".join(values) if isinstance(values, list) else values))
    for kind, heading in (("quote", "Quotes"), ("tip", "Tips")):
        items = [i for i in found["items"] if i["kind"] == kind]
        if items:
            click.echo(f"\n{heading}:")
        for item in items:
            cite = ("profile page" if item["source"] == "profile page"
                    else f"{item['episode_title']} ({(item['published'] or '')[:10]}) [{_clock(item['start'])}]")
            click.echo(f'  "{item["text"]}"\n    — {cite}')
    if found["episodes"]:
        click.echo("\nEpisodes:")
        for ep in found["episodes"]:
            click.echo(f"  {ep['id']}: {ep['title']} ({ep['role']})")


@profiles.command(name="link")
@click.argument("label")
@click.argument("person")
@click.option("--episode", type=int, help="Only in this episode")
@db_option
def profiles_link(label, person, episode, db_path):
    """Confirm that a speaker LABEL is PERSON (kept as an alias)."""
    from .profiles import link_person

    db = get_db(db_path)
    link_person(db, label, person, episode)
    click.echo(f"linked: {label} -> {person}")


@profiles.command(name="merge")
@click.argument("keep")
@click.argument("other")
@db_option
def profiles_merge(keep, other, db_path):
    """Merge person OTHER into KEEP (items, episodes and names move over)."""
    from .profiles import merge_people

    db = get_db(db_path)
    merge_people(db, keep, other)
    click.echo(f"merged: {other} -> {keep}")


@profiles.command(name="matches")
@db_option
@output_options
def profiles_matches(db_path, fmt):
    """Uncertain speaker-to-person matches waiting for an editor."""
    db = get_db(db_path)
    from .link import pending_matches

    print_rows(pending_matches(db), fmt)


@cli.command()
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
    from .maintenance import clean_temp_files
    from .stages import PIPELINE, Interrupted
    from .subscriptions import subscribe

    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in PIPELINE]
    if unknown:
        raise click.UsageError(f"unknown stage {unknown[0]!r}; choose from {', '.join(PIPELINE)}")
    db = get_db(db_path, lock=True, create=True)
    # we hold the lock, so any temp file lying about was left by a killed run
    clean_temp_files(db, opts["audio_dir"], opts["transcripts_dir"])
    feeds = subscribe(db, feeds_)
    opts = with_executor(opts)
    # SIGTERM (from cron, systemd, kill) stops at the next safe point like Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        results = run_pipeline(db, wanted, episode_ids, command="run", feeds=feeds,
                               since=since.date().isoformat() if since else None,
                               on_result=lambda r: click.echo(RUN_SUMMARY[r.stage].format(**r.counts)), **opts)
    except Interrupted as exc:
        done = "; ".join(f"{r.stage}: {r.counts}" for r in exc.results) or "nothing"
        click.echo(f"interrupted; finished and saved: {done}. Run again to continue.", err=True)
        sys.exit(130)
    if any(r.errors for r in results):
        sys.exit(EXIT_FAILED)


@cli.group(name="cluster")
def cluster_group():
    """Run the heavy work on a Dask cluster."""


@cluster_group.command(name="local")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Worker processes (one thread each)")
@click.option("--port", type=click.IntRange(0, 65535), default=8786, show_default=True, help="Scheduler port")
def cluster_local(workers, port):
    """Start a Dask cluster on this machine and wait (Ctrl-C stops it).

    \b
    Examples:
        podpipe cluster local --workers 2
        podpipe run --cluster tcp://127.0.0.1:8786    # in another terminal
    """
    import time

    from .cluster import start_local

    with start_local(workers, port=port) as local:
        click.echo(f"scheduler {local.scheduler_address} with {workers} workers; dashboard {local.dashboard_link}")
        click.echo(f"use it with: podpipe run --cluster {local.scheduler_address}   (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


@cli.command()
@db_option
def status(db_path):
    """Show the pipeline at a glance: episodes per state, failures, last runs."""
    from .queue import failures, feed_failures, status_by_feed
    from .runs import list_runs

    db = get_db(db_path)
    click.echo("Episodes by feed and state:")
    print_rows(status_by_feed(db))
    rows = list(feed_failures(db))
    if rows:
        click.echo("\nFeeds that failed on their last fetch:")
        print_rows(rows)
    rows = list(failures(db))
    if rows:
        click.echo("\nFailed episodes ('podpipe retry' re-queues them):")
        print_rows(rows)
    click.echo("\nLast runs:")
    print_rows(list_runs(db, limit=5, columns="id, command, status, started, finished, counts"))


@cli.command()
@click.option("--failed", is_flag=True, help="Only runs that did not finish cleanly")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@db_option
@output_options
def runs(failed, limit, db_path, fmt):
    """List runs from the job log."""
    from .runs import list_runs, mark_interrupted

    db = get_db(db_path)
    mark_interrupted(db)
    print_rows(list_runs(db, failed=failed, limit=limit), fmt)


@cli.command()
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def retry(episode_ids, db_path):
    """Re-queue failed episodes (their attempt counts are kept)."""
    from .queue import retry as requeue

    db = get_db(db_path, lock=True, create=True)
    n = requeue(db, episode_ids)
    click.echo(f"{n} episodes re-queued; 'podpipe run' will try them again")


@cli.command(name="config")
@click.pass_context
def config_cmd(ctx):
    """Print the configuration in force and where each value comes from."""
    for key, (value, source) in ctx.find_root().obj["config"].items():
        click.echo(f"{key} = {value!r}  # {source}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
def backup(path, db_path):
    """Copy the database to PATH with SQLite's online backup (safe while jobs run)."""
    from .maintenance import backup as copy

    db = get_db(db_path)
    size = copy(db, path)
    click.echo(f"backed up to {path} ({size} bytes)")


@cli.command()
@audio_dir_option
@transcripts_dir_option
@db_option
def check(audio_dir, transcripts_dir, db_path):
    """Check the database (integrity, foreign keys) and the files it names."""
    from .maintenance import check as find_problems

    db = get_db(db_path)
    problems = find_problems(db, audio_dir, transcripts_dir)
    for problem in problems:
        click.echo(problem)
    click.echo(f"{len(problems)} problems found" if problems else "ok: no problems found")
    if problems:
        sys.exit(EXIT_FAILED)


@cli.command()
@db_option
@output_options
def episodes(db_path, fmt):
    """List episodes with their status."""
    db = get_db(db_path)
    from .queue import list_episodes

    print_rows(list_episodes(db), fmt)


# --- search, query, review, collections, export, datasette -----------------



def db_path_of(path):
    """The database path get_db would open, without opening it."""
    from .db import resolve_db_path

    root = click.get_current_context().find_root()
    # --db may be given before the command too: podpipe --db x.db ingest
    return resolve_db_path(path or root.params.get("db_path"), (root.obj or {}).get("config"))


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def item_filter_options(kinds):
    """--kind, --person, --role, --feed, --topic, --since, --status: what search, export and collections share."""
    from .search import STATUSES

    def decorator(fn):
        for option in reversed([
            click.option("--kind", type=click.Choice(kinds), help="Only this kind"),
            click.option("--person", help="Only people whose name contains NAME (segments: its words)"),
            click.option("--role", help='Only people in this role, e.g. "Product Manager" (plurals work)'),
            click.option("--feed", help="Only this feed (id, URL or title)"),
            click.option("--topic", help="Only items tagged with this topic, e.g. customers"),
            click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only episodes published on or after DATE"),
            click.option("--status", "statuses", type=click.Choice(STATUSES + ("all",)), multiple=True,
                         help="Only items with this status (repeatable; default: all but rejected)"),
        ]):
            fn = option(fn)
        return fn

    return decorator


def item_filters(kind=None, person=None, role=None, feed=None, topic=None, since=None, statuses=()):
    """The filter options as keyword arguments for the library (kind as a list of kinds)."""
    return {"kinds": [kind] if kind else None, "person": person, "role": role, "feed": feed, "topic": topic,
            "since": since.date().isoformat() if since else None, "statuses": list(statuses) or None}


def quote_option(fn):
    return click.option("--quote", is_flag=True, help="Search the words literally, ignoring FTS syntax")(fn)


SEARCH_TABLE_COLUMNS = ["id", "kind", "speaker", "role", "episode", "time", "snippet"]
# A common word matches thousands of segments; nobody reads past the first screens,
# and each row costs a snippet. --limit 0 asks for all.
SEARCH_LIMIT = 100


@cli.command()
@click.argument("query", required=False)
@item_filter_options(["quote", "tip", "segment"])
@click.option("--limit", type=click.IntRange(min=0), default=SEARCH_LIMIT, show_default=True,
              help="At most N results, best first (0: all)")
@quote_option
@click.option("--mode", type=click.Choice(["fts", "semantic", "hybrid"]),
              help="fts (words), semantic (meaning) or hybrid (both; the default once 'podpipe embed' has run)")
@click.option("--semantic", "semantic_query", metavar="QUERY", help="Search by meaning: --mode semantic QUERY")
@db_option
@output_options
def search(query, limit, quote, mode, semantic_query, db_path, fmt, **filters):
    """Search tips, quotes (default) or transcript segments, best first.

    By words (FTS5: porter stemming, so "customer" finds "customers", "a
    phrase", prefix*, AND/OR/NOT), by meaning, or both merged (hybrid, the
    default when vectors exist). Without QUERY, lists every item that passes
    the filters. Segments found by meaning are passages of a few segments.

    \b
    Examples:
        podpipe search "product market fit" --kind quote --since 2024-01-01
        podpipe search --kind tip --role "product manager" --topic customers
        podpipe search 'roadmap*' --kind segment --person lenny --nl
        podpipe search --semantic "what does a product manager do all day"
        podpipe search "saying no to stakeholders" --mode hybrid --kind segment
    """
    from .search import quote_query
    from .search import search as run_search
    from .semantic import default_mode, search_by_meaning

    kind = filters.pop("kind")
    if semantic_query:
        if query or mode not in (None, "semantic"):
            raise click.UsageError("--semantic QUERY takes the place of QUERY and --mode")
        query, mode = semantic_query, "semantic"
    db = get_db(db_path, read=True)
    options = item_filters(**filters)
    options.pop("kinds")
    if kind == "segment":
        options = {k: v for k, v in options.items() if v}
    mode = mode or (default_mode(db, kind) if query else "fts")
    # one row more than asked for says whether the limit cut anything off
    wanted = limit + 1 if limit else None
    if mode == "fts":
        rows = run_search(db, quote_query(query) if quote and query else query, kind=kind, limit=wanted, **options)
    else:
        rows = search_by_meaning(db, query, kind=kind, mode=mode, limit=wanted, **options)
    print_rows(_at_most(rows, limit), fmt, columns=SEARCH_TABLE_COLUMNS if fmt in (None, "table") else None)


def _at_most(rows, limit):
    """The first `limit` rows (all for 0), and a note on stderr when there were more."""
    for n, row in enumerate(rows):
        if limit and n == limit:
            click.echo(f"(the first {limit} results; --limit 0 for all)", err=True)
            return
        yield row


@cli.command()
@click.argument("item_id", metavar="ID", type=int)
@click.option("--kind", type=click.Choice(["quote", "tip", "segment"]),
              help="Only this kind (segment: transcript passages)")
@click.option("--other-episodes", is_flag=True, help="Only items from other episodes")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="At most N results")
@db_option
@output_options
def similar(item_id, kind, other_episodes, limit, db_path, fmt):
    """Who else said this: the items (or passages) closest in meaning to item ID.

    \b
    Examples:
        podpipe similar 12
        podpipe similar 12 --other-episodes --kind quote
        podpipe similar 12 --kind segment --nl
    """
    from .semantic import similar as find_similar

    rows = find_similar(get_db(db_path), item_id, kind=kind, limit=limit, other_episodes=other_episodes)
    print_rows(rows, fmt, columns=SEARCH_TABLE_COLUMNS + ["rank"] if fmt in (None, "table") else None)


@cli.command(name="query")
@click.argument("sql")
@click.option("-p", "--param", "params", type=(str, str), multiple=True, help="A named parameter: -p name value")
@db_option
@output_options
def query_cmd(sql, params, db_path, fmt):
    """Run a read-only SQL query (the database is opened read-only).

    \b
    Examples:
        podpipe query "select role, count(*) as tips from tips_by_role group by role"
        podpipe query "select * from items_by_topic where topic = :t" -p t customers --csv
    """
    from .query import open_read_only, run_query

    db = open_read_only(db_path_of(db_path))
    columns, rows = run_query(db, sql, dict(params))
    print_rows(rows, fmt, columns=columns)


REVIEW_ACTIONS = {"a": "approve", "r": "reject", "e": "edit text", "k": "change kind", "s": "skip", "q": "quit"}


@cli.command()
@click.option("--episode", type=int, help="Only this episode's items")
@click.option("--collection", help="Only items in this collection")
@db_option
def review(episode, collection, db_path):
    """Go through pending items one by one: approve, reject, edit, change kind, skip, quit.

    Every decision is saved at once; run it again to carry on where you
    stopped (skipped items come last).
    """
    from collections import Counter

    from .collections import get_collection
    from .review import (ReviewError, describe, edit_item, fetch_review_item, pending_items, set_status,
                         skip_item)

    db = get_db(db_path)
    collection_id = get_collection(db, collection)["id"] if collection else None
    items = pending_items(db, episode_id=episode, collection_id=collection_id)
    if not items:
        click.echo("No pending items.")
        return
    legend = "  ".join(f"[{k}] {v}" for k, v in REVIEW_ACTIONS.items())
    done = Counter()
    stopped = False
    for n, item in enumerate(items, 1):
        try:
            row = fetch_review_item(db, item["id"])
        except ReviewError:
            continue  # deleted since we started (a re-extraction drops untouched items)
        if row["status"] != "pending":
            continue  # decided elsewhere since we started
        click.echo(("\n" if n > 1 else "") + describe(row, n, len(items)))
        while True:
            click.echo(legend)
            try:
                action = click.prompt("Action", type=click.Choice(list(REVIEW_ACTIONS)), show_choices=False)
            except click.Abort:
                action = "q"
            if action in ("a", "r"):
                status = "approved" if action == "a" else "rejected"
                set_status(db, [row["id"]], status)
                done[status] += 1
                break
            if action == "s":
                skip_item(db, row["id"])
                done["skipped"] += 1
                break
            if action == "q":
                stopped = True
                break
            if action == "e":
                text = click.prompt("New text", default=row["edited_text"] or row["text"])
                edit_item(db, row["id"], text=text)
                done["edited"] += 1
            else:
                edit_item(db, row["id"], kind="tip" if row["kind"] == "quote" else "quote")
            row = fetch_review_item(db, row["id"])
            click.echo(describe(row, n, len(items)))
        if stopped:
            break
    left = len(pending_items(db, episode_id=episode, collection_id=collection_id))
    summary = ", ".join(f"{done[k]} {k}" for k in ("approved", "rejected", "edited", "skipped"))
    click.echo(f"\n{summary}; {left} pending left.")


@cli.group()
def items():
    """Approve, reject and edit items without the interactive review."""


def _ids_or_collection(db, ids, collection):
    from .collections import collection_item_ids, get_collection

    if not ids and not collection:
        raise click.UsageError("give item ids, or --collection NAME")
    if collection:
        ids = list(ids) + collection_item_ids(db, get_collection(db, collection)["id"])
    return ids


def _set_status(db_path, ids, collection, status):
    from .review import set_status

    db = get_db(db_path)
    ids = _ids_or_collection(db, ids, collection)
    set_status(db, ids, status)
    click.echo(f"{status} {plural(len(set(ids)), 'item')}")


@items.command(name="approve")
@click.argument("ids", metavar="ID...", type=int, nargs=-1)
@click.option("--collection", help="Every item in this collection")
@db_option
def items_approve(ids, collection, db_path):
    """Approve items (by id, or every item in a collection)."""
    _set_status(db_path, ids, collection, "approved")


@items.command(name="reject")
@click.argument("ids", metavar="ID...", type=int, nargs=-1)
@click.option("--collection", help="Every item in this collection")
@db_option
def items_reject(ids, collection, db_path):
    """Reject items (they stay in the database, out of searches and exports)."""
    _set_status(db_path, ids, collection, "rejected")


@items.command(name="edit")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--text", help="The edited text (the verbatim original is kept)")
@click.option("--kind", type=click.Choice(["quote", "tip"]), help="Change the kind")
@click.option("--revert", is_flag=True, help="Drop the edit and go back to the verbatim text")
@db_option
def items_edit(item_id, text, kind, revert, db_path):
    """Edit an item's text or kind; the verbatim text stays alongside."""
    from .review import edit_item, fetch_items

    if text is None and kind is None and not revert:
        raise click.UsageError("give --text, --kind or --revert")
    db = get_db(db_path)
    if revert:
        text = fetch_items(db, [item_id])[0]["text"]
    row = edit_item(db, item_id, text=text, kind=kind)
    edited = "edited" if row["edited_text"] is not None else "verbatim"
    click.echo(f"item {item_id}: {row['kind']}, {edited} text")


@items.command(name="show")
@click.argument("item_id", metavar="ID", type=int)
@db_option
@output_options
def items_show(item_id, db_path, fmt):
    """Show every field of an item (the edited and the verbatim text)."""
    from .export import select_items
    from .review import fetch_items

    db = get_db(db_path)
    fetch_items(db, [item_id])
    _, rows = select_items(db, statuses=["all"], ids=[item_id])
    row = next(rows)
    from .duplicates import group_of

    row["near_duplicates"] = [f"{d['id']}{' (kept)' if d['representative'] else ''}" for d in group_of(db, item_id)
                              if d["id"] != item_id]
    if fmt in (None, "table"):
        print_rows(({"field": k, "value": ", ".join(map(str, v)) if isinstance(v, list) else v}
                    for k, v in row.items()), fmt)
    else:
        print_rows([row], fmt)


@cli.group()
def topics():
    """Grow the topic taxonomy: suggest topics from clusters of approved items, accept them."""


@topics.command(name="suggest")
@click.option("--min-size", type=click.IntRange(min=1), default=3, show_default=True,
              help="Only clusters of at least N items")
@db_option
@output_options
def topics_suggest(min_size, db_path, fmt):
    """Suggest topics: approved items clustered by meaning, named from their words.

    \b
    Examples:
        podpipe topics suggest
        podpipe topics suggest --min-size 5 --json
    """
    from .themes import suggest

    rows = suggest(get_db(db_path), min_size=min_size)
    print_rows(({k: (",".join(map(str, v)) if k == "example_ids" else v) for k, v in s.items() if k != "item_ids"}
                for s in rows), fmt)


@topics.command(name="accept")
@click.argument("name")
@click.option("--items", "item_ids", help="Comma-separated item ids to tag, e.g. 1,2,3")
@click.option("--suggestion", type=int, help="Tag every item of suggestion N (as 'topics suggest' numbers them)")
@db_option
def topics_accept(name, item_ids, suggestion, db_path):
    """Tag items with topic NAME (a suggestion's name, or your own).

    \b
    Examples:
        podpipe topics accept "pricing" --suggestion 1
        podpipe topics accept "hiring" --items 4,8,15
    """
    from .themes import accept

    ids = None
    if item_ids is not None:
        try:
            ids = [int(i) for i in item_ids.split(",") if i.strip()]
        except ValueError:
            raise click.UsageError(f"--items takes comma-separated ids, not {item_ids!r}") from None
    tagged = accept(get_db(db_path), name, item_ids=ids, suggestion=suggestion)
    click.echo(f"tagged {plural(len(tagged), 'item')} with topic {' '.join(name.split())!r}")


@cli.group()
def collections():
    """Curate named, ordered collections of items for export."""


@collections.command(name="create")
@click.argument("name")
@click.option("--description", help="What the collection is for (shown in exports)")
@db_option
def collections_create(name, description, db_path):
    """Create an empty collection."""
    from .collections import save_collection

    db = get_db(db_path)
    save_collection(db, name, description)
    click.echo(f"created collection {name}")


@collections.command(name="add")
@click.argument("name")
@click.argument("ids", metavar="[ID]...", type=int, nargs=-1)
@click.option("--search", "query", help="Add every item matching this search")
@item_filter_options(["quote", "tip"])
@quote_option
@db_option
def collections_add(name, ids, query, quote, db_path, **filters):
    """Add items by id, or every item matching --search and the filters.

    \b
    Examples:
        podpipe collections add customer-tips 12 15 19
        podpipe collections add customer-tips --search customers --kind tip --role "product manager"
    """
    from .collections import add_items, get_collection
    from .search import matching_item_ids, quote_query

    options = item_filters(**filters)
    db = get_db(db_path)
    get_collection(db, name)
    ids = list(ids)
    if query or any(v for v in options.values()):
        ids += matching_item_ids(db, quote_query(query) if quote and query else query, **options)
    elif not ids:
        raise click.UsageError("give item ids, or --search QUERY and/or filters")
    added, already = add_items(db, name, ids)
    click.echo(f"added {plural(added, 'item')} to {name}" + (f" ({already} already there)" if already else ""))


@collections.command(name="remove")
@click.argument("name")
@click.argument("ids", metavar="ID...", type=int, nargs=-1, required=True)
@db_option
def collections_remove(name, ids, db_path):
    """Take items out of a collection (the items themselves stay)."""
    from .collections import remove_items

    db = get_db(db_path)
    n = remove_items(db, name, ids)
    click.echo(f"removed {plural(n, 'item')} from {name}")


@collections.command(name="move")
@click.argument("name")
@click.argument("item_id", metavar="ID", type=int)
@click.argument("position", type=click.IntRange(min=1))
@db_option
def collections_move(name, item_id, position, db_path):
    """Move an item to POSITION (1 is first) in a collection."""
    from .collections import move_item

    db = get_db(db_path)
    position = move_item(db, name, item_id, position)
    click.echo(f"moved item {item_id} to position {position} in {name}")


@collections.command(name="note")
@click.argument("name")
@click.argument("item_id", metavar="ID", type=int)
@click.argument("note")
@db_option
def collections_note(name, item_id, note, db_path):
    """Attach a note to an item in a collection ('' removes it)."""
    from .collections import set_note

    db = get_db(db_path)
    set_note(db, name, item_id, note)
    click.echo(f"{'noted' if note else 'removed the note on'} item {item_id} in {name}")


@collections.command(name="list")
@db_option
@output_options
def collections_list(db_path, fmt):
    """List collections with their item counts."""
    from .collections import fetch_collections

    db = get_db(db_path)
    print_rows(fetch_collections(db), fmt, columns=["name", "description", "items", "created"])


@collections.command(name="show")
@click.argument("name")
@db_option
@output_options
def collections_show(name, db_path, fmt):
    """List a collection's items in order (every status)."""
    from .export import select_items

    db = get_db(db_path)
    _, rows = select_items(db, collection=name, statuses=["all"])
    columns = ["position", "id", "kind", "status", "person", "episode_title", "timestamp", "text", "note"]
    print_rows(rows, fmt, columns=columns if fmt in (None, "table") else None)


@collections.command(name="delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
@db_option
def collections_delete(name, yes, db_path):
    """Delete a collection (its items stay in the database)."""
    from .collections import delete_collection, get_collection

    db = get_db(db_path)
    get_collection(db, name)
    if not yes:
        click.confirm(f"Delete collection {name}?", abort=True)
    n = delete_collection(db, name)
    click.echo(f"deleted collection {name} ({plural(n, 'item')}; the items stay)")


@cli.command(name="export")
@click.argument("collection", required=False)
@click.option("--search", "query", help="Only items matching this full-text search")
@item_filter_options(["quote", "tip"])
@quote_option
@click.option("--format", "fmt", type=click.Choice(["md", "html", "csv", "json", "jsonl", "readwise"]),
              help="Output format (default: from the -o suffix, else md)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout")
@click.option("--raw-csv", is_flag=True,
              help="CSV cells as stored, without the ' before =, +, -, @ that keeps spreadsheets from running them")
@click.option("--clean", is_flag=True,
              help="The extractor's lightly cleaned words (fillers, repeats, false starts removed), marked "
                   "'edited for clarity'; an editor's edit always wins")
@db_option
def export_cmd(collection, query, quote, fmt, output, raw_csv, clean, db_path, **filters):
    """Export a collection, a search, or every item except rejected ones.

    \b
    Formats: md (YAML front matter, grouped by person, cited), html (one
    self-contained page), csv, json, jsonl (every field), readwise (Readwise CSV).
    \b
    Examples:
        podpipe export customer-tips --format md -o customer-tips.md
        podpipe export --search "product market fit" --status approved --format html -o pmf.html
        podpipe export --format jsonl > items.jsonl
        podpipe export --role "Product Manager" --format md -o product-manager.md
    \b
    With --role and md or html (and no collection or search), the export is
    the role's page: the role, then each person's profile with their quotes
    and tips (approved ones, and a profile page's), like the seed page.
    """
    from .export import export_items, format_for

    fmt = format_for(output, fmt)
    db = get_db(db_path)
    if filters.get("role") and fmt in ("md", "html") and not collection and not query:
        return _export_role_page(db, filters["role"], fmt, output, filters.get("statuses"))
    n = export_items(db, fmt, path=output, out=sys.stdout, collection=collection,
                     query=quote_query_if(query, quote), raw_csv=raw_csv, clean=clean, **item_filters(**filters))
    if output:
        click.echo(f"exported {plural(n, 'item')} to {output}", err=True)


def _export_role_page(db, role, fmt, output, statuses):
    from .files import atomic_file
    from .role_page_export import render_html, render_markdown, role_page

    page = role_page(db, role, statuses=tuple(s for s in statuses or ("approved",) if s != "all")
                     or ("approved", "pending"))
    text = (render_markdown if fmt == "md" else render_html)(page)
    if output:
        with atomic_file(output, perms="umask") as f:
            f.write(text)
        click.echo(f"exported the {page['role']['name']} role page ({plural(len(page['people']), 'person')}) "
                   f"to {output}", err=True)
    else:
        click.echo(text, nl=False)


def quote_query_if(query, quote):
    from .search import quote_query

    return quote_query(query) if quote and query else query


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open a browser")
@click.option("--print-metadata", is_flag=True,
              help="Print the Datasette metadata JSON and exit (for 'datasette DB -m metadata.json')")
@db_option
def serve(host, port, open_browser, print_metadata, db_path):
    """Browse, search and facet the database in Datasette (pip install 'podpipe[datasette]')."""
    import json

    from .datasette_metadata import metadata_for

    path = db_path_of(db_path)
    meta = metadata_for(path)
    if print_metadata:
        click.echo(json.dumps(meta, indent=2))
        return
    try:
        import uvicorn
        from datasette.app import Datasette
    except ImportError:
        raise ConfigProblem("Datasette is not installed: pip install 'podpipe[datasette]'") from None
    get_db(db_path)  # migrations and views first, so Datasette sees the whole schema
    url = f"http://{host}:{port}/"
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    click.echo(f"Datasette on {url} (Ctrl-C to stop)", err=True)
    # in this process, as 'datasette serve' does it: no child left behind on Ctrl-C
    uvicorn.run(Datasette([str(path)], metadata=meta).app(), host=host, port=port, log_level="warning")



@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8002, show_default=True)
@click.option("--token", envvar="PODPIPE_DESK_TOKEN",
              help="Require this token (open the printed address once; env PODPIPE_DESK_TOKEN)")
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open a browser")
@db_option
def desk(host, port, token, open_browser, db_path):
    """Review, edit and collect quotes in a web page, with the audio at the second (pip install 'podpipe[desk]')."""
    from urllib.parse import quote

    try:
        import uvicorn

        from .desk import create_app
    except ImportError:
        raise ConfigProblem("the desk is not installed: pip install 'podpipe[desk]'") from None
    from .desk.guard import is_loopback

    if not is_loopback(host) and not token:
        raise ConfigProblem(f"--host {host} lets other machines in: give --token (or $PODPIPE_DESK_TOKEN) too")
    get_db(db_path)  # a missing database is an error; migrations run once, here
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/queue" + (f"?token={quote(token)}" if token else "")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    click.echo(f"The desk on {url} (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(db_path_of(db_path), host=host, token=token), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    cli()
