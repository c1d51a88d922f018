"""The podpipe command line: parses options, opens the database, calls the
library and prints. The work lives in the stage modules."""
import contextlib
import logging
import signal
import sqlite3
import sys

import click

from . import __version__
from .db import open_db
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
        except sqlite3.DatabaseError as exc:
            raise click.ClickException(f"database error: {exc}") from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None


def db_option(fn):
    return click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="PODPIPE_DB",
                        help="SQLite database file (env PODPIPE_DB, default db/podpipe.db)")(fn)


def audio_dir_option(fn):
    return click.option("--audio-dir", type=click.Path(file_okay=False), envvar="PODPIPE_AUDIO_DIR",
                        default="audio", show_default=True,
                        help="Folder for downloaded audio (env PODPIPE_AUDIO_DIR)")(fn)


def silent_option(fn):
    return click.option("--silent", is_flag=True, help="No progress bar")(fn)


def get_db(path, lock=False):
    """Open the database; with lock, hold the job lock until the command ends."""
    from .maintenance import Lock, LockedError

    ctx = click.get_current_context()
    root = ctx.find_root()
    # --db may be given before the command too: podpipe --db x.db ingest
    path = path or root.params.get("db_path") or root.obj["config"]["db"][0]
    if lock:
        try:
            ctx.with_resource(Lock(path, wait=root.params.get("wait") or 0))
        except LockedError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot lock {path}: {exc.strerror}") from None
    try:
        return open_db(path)
    except Exception as exc:  # sqlite3 errors, permissions: one line for the user
        raise click.ClickException(f"cannot open database {path}: {exc}") from None


@contextlib.contextmanager
def progress_bar(total, label, silent):
    """A progress bar on stderr; yields a function to call per item done."""
    if silent or not total:
        yield lambda *_: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda *_: progress.advance(task)


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
    from .config import ConfigError, default_map, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
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

    db = get_db(db_path)
    for url, added in add_feeds(db, locations):
        click.echo(f"{'added' if added else 'already subscribed'}: {url}")


@feeds.command(name="list")
@db_option
@output_options
def feeds_list(db_path, fmt):
    """List subscribed feeds with episode counts."""
    db = get_db(db_path)
    rows = db.query("select f.id, f.url, f.title, count(e.id) as episodes, f.last_fetched, f.last_error "
                    "from feeds f left join episodes e on e.feed_id = f.id group by f.id order by f.id")
    print_rows(rows, fmt)


@feeds.command(name="remove")
@click.argument("feeds_", metavar="FEED...", nargs=-1, required=True)
@db_option
def feeds_remove(feeds_, db_path):
    """Unsubscribe from feeds (by id, URL or title) and delete their episodes."""
    from .feeds import FeedError, feed_rows
    from .subscriptions import remove_feed

    db = get_db(db_path)
    try:
        rows = feed_rows(db, feeds_)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
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
    db = get_db(db_path)
    results = add_feeds(db, urls)
    added = sum(1 for _, a in results if a)
    click.echo(f"{added} feeds added, {len(results) - added} already subscribed")


@feeds.command(name="export")
@db_option
def feeds_export(db_path):
    """Print the subscriptions as OPML."""
    from .subscriptions import export_opml

    db = get_db(db_path)
    click.echo(export_opml(db.query("select * from feeds order by id")), nl=False)


# --- stages -----------------------------------------------------------------

def run_ingest(db, selectors, echo):
    """Ingest feeds; returns (totals, errors)."""
    from .feeds import FeedError, feed_rows, ingest_feed

    try:
        rows = feed_rows(db, selectors)
    except FeedError as exc:
        raise click.ClickException(str(exc)) from None
    totals = {"new": 0, "updated": 0, "unchanged": 0, "not_modified": 0, "failed": 0}
    errors = []
    for feed in rows:
        try:
            counts = ingest_feed(db, feed["url"])
        except FeedError as exc:
            totals["failed"] += 1
            errors.append({"feed": feed["url"], "error": str(exc)})
            echo(f"failed: {feed['url']}: {exc}", err=True)
            continue
        for k in ("new", "updated", "unchanged", "not_modified"):
            totals[k] += counts[k]
        if counts["not_modified"]:
            echo(f"not modified: {feed['url']}", err=True)
        else:
            dup = f", {counts['duplicate']} duplicate items skipped" if counts["duplicate"] else ""
            echo(f"ingested: {feed['url']}: {counts['new']} new, {counts['updated']} updated, "
                 f"{counts['unchanged']} unchanged{dup}", err=True)
    return totals, errors


def subscribe(db, locations):
    """Make sure feeds named on the command line are subscribed; returns their URLs."""
    from .subscriptions import add_feeds

    if not locations:
        return []
    new = [loc for loc in locations if not loc.isdigit()]
    return [url for url, _ in add_feeds(db, new)] + [loc for loc in locations if loc.isdigit()]


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
    from .runs import finish_run, start_run

    db = get_db(db_path, lock=True)
    selectors = subscribe(db, feeds_)
    run_id = start_run(db, "ingest", {"feeds": feeds_})
    totals, errors = run_ingest(db, selectors, click.echo)
    finish_run(db, run_id, "partial" if errors else "ok", {"ingest": totals}, errors)
    click.echo(f"{totals['new']} new, {totals['updated']} updated, {totals['unchanged']} unchanged, "
               f"{totals['not_modified']} feeds not modified, {totals['failed']} feeds failed")
    if errors:
        sys.exit(EXIT_FAILED)


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


DOWNLOAD_PARAMS = ("limit", "concurrency", "max_bytes", "max_attempts", "audio_dir", "since")


def pick(opts, names):
    return {k: opts[k] for k in names if k in opts}


def run_download(db, opts, echo):
    from .download import download, pending_downloads

    kw = pick(opts, DOWNLOAD_PARAMS)
    total = len(pending_downloads(db, **pick(kw, ("limit", "max_attempts", "since"))))
    with progress_bar(total, "downloading", opts.get("silent")) as advance:
        result = download(db, progress=advance, **kw)
    for episode_id, message in result["errors"]:
        echo(f"failed: episode {episode_id}: {message}", err=True)
    return result


@cli.command(name="download")
@download_options
@db_option
def download_cmd(db_path, **opts):
    """Download audio and publisher transcripts of ingested episodes."""
    from .runs import finish_run, start_run

    db = get_db(db_path, lock=True)
    run_id = start_run(db, "download", opts)
    result = run_download(db, opts, click.echo)
    errors = [{"episode": e, "error": m} for e, m in result["errors"]]
    finish_run(db, run_id, "partial" if errors else "ok",
               {"download": {"downloaded": result["downloaded"], "failed": result["failed"]}}, errors)
    click.echo(f"{result['downloaded']} downloaded, {result['failed']} failed")
    if errors:
        sys.exit(EXIT_FAILED)


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
        transcripts_dir_option,
    ]):
        fn = decorator(fn)
    return fn


def transcripts_dir_option(fn):
    return click.option("--transcripts-dir", type=click.Path(file_okay=False), envvar="PODPIPE_TRANSCRIPTS_DIR",
                        default="transcripts", show_default=True,
                        help="Folder for transcript files (env PODPIPE_TRANSCRIPTS_DIR)")(fn)


@contextlib.contextmanager
def transcribe_progress(silent):
    """Progress on stderr: episode N of M, audio seconds done, real-time factor."""
    if silent:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed:.0f}/{task.total:.0f} s audio"), TextColumn("{task.fields[rtf]}"))
    with Progress(*columns, console=Console(stderr=True)) as bar:
        state = {}

        def progress(event, **f):
            if event == "episode":
                state["task"] = bar.add_task(f"episode {f['n']} of {f['total']}",
                                             total=f["episode"].get("duration_s") or 1, rtf="")
            elif event == "audio":
                bar.update(state["task"], completed=f["done"], total=f["total"])
            elif event == "done" and f["source"] == "publisher":
                bar.update(state["task"], completed=bar.tasks[-1].total, rtf="publisher transcript")
            elif event == "done":
                bar.update(state["task"], rtf=f"real-time factor {f['rtf']:.2f}")

        yield progress


# the transcribe options that go to the transcription stage
TRANSCRIBE_PARAMS = ("episode_ids", "model", "engine", "language", "vad", "word_timestamps", "beam_size",
                     "force_whisper", "transcripts_dir", "limit", "max_attempts", "since")


def run_transcribe(db, opts, echo):
    from .models import ModelError
    from .transcribe import transcribe

    try:
        with transcribe_progress(opts.get("silent")) as progress:
            result = transcribe(db, progress=progress, **pick(opts, TRANSCRIBE_PARAMS))
    except ModelError as exc:
        raise ConfigProblem(str(exc)) from None
    for episode_id, message in result["errors"]:
        echo(f"failed: episode {episode_id}: {message}", err=True)
    return result


@cli.command(name="transcribe")
@transcribe_options
@click.option("--limit", type=click.IntRange(min=1), help="Transcribe at most N episodes")
@max_attempts_option
@silent_option
@db_option
def transcribe_cmd(db_path, **opts):
    """Transcribe downloaded episodes (publisher transcripts first, else Whisper).

    \b
    Examples:
        podpipe transcribe
        podpipe transcribe --episode 3 --model tiny.en --word-timestamps
    """
    from .runs import finish_run, start_run

    db = get_db(db_path, lock=True)
    run_id = start_run(db, "transcribe", opts)
    result = run_transcribe(db, opts, click.echo)
    errors = [{"episode": e, "error": m} for e, m in result["errors"]]
    finish_run(db, run_id, "partial" if errors else "ok", {"transcribe": _counts(result)}, errors)
    click.echo(f"{result['transcribed']} transcribed ({result['publisher']} from publisher transcripts, "
               f"{result['whisper']} by Whisper), {result['failed']} failed")
    if errors:
        sys.exit(EXIT_FAILED)


def _counts(result):
    return {k: v for k, v in result.items() if k != "errors"}


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
    from .transcript_formats import TranscriptFormatError
    from .transcript_import import import_transcript

    db = get_db(db_path, lock=True)
    failed = 0
    for path in paths:
        try:
            episode_id, created = import_transcript(db, path, transcripts_dir=transcripts_dir)
        except (OSError, TranscriptFormatError) as exc:
            failed += 1
            click.echo(f"failed: {path}: {exc}", err=True)
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

    db = get_db(db_path)
    row = db.execute("select id from transcripts where episode_id = ?", [episode]).fetchone()
    if not row:
        raise click.ClickException(f"episode {episode} has no transcript (run 'podpipe transcribe')")
    segments = list(db.query("select start, end, text, speaker from segments where transcript_id = ? "
                             "order by idx", [row[0]]))
    click.echo(write(segments, fmt), nl=False)


def run_extract(db, episode_ids, rescore, limit, echo):
    from .extraction import extract

    result = extract(db, episode_ids=episode_ids, rescore=rescore, limit=limit)
    for episode_id, reason in result["skipped"]:
        echo(f"skipped: episode {episode_id}: {reason}", err=True)
    return result


@cli.command(name="extract")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@click.option("--rescore", is_flag=True, help="Extract again from episodes done before")
@click.option("--limit", type=click.IntRange(min=1), help="At most N episodes")
@db_option
def extract_cmd(episode_ids, rescore, limit, db_path):
    """Extract quotes and tips from transcripts, linked to who said them.

    \b
    Re-running replaces the machine's items but never an editor's decision.
    """
    from .runs import finish_run, start_run

    db = get_db(db_path, lock=True)
    run_id = start_run(db, "extract", {"episodes": episode_ids, "rescore": rescore})
    result = run_extract(db, episode_ids, rescore, limit, click.echo)
    finish_run(db, run_id, "ok", {"extract": {"episodes": result["episodes"], "items": result["items"]}})
    click.echo(f"{result['items']} items from {result['episodes']} episodes")


@cli.command()
@click.argument("input", type=click.File("r"), default="-")
def classify(input):
    """Classify sentences, one a line, as tip, quote or none (JSON Lines out).

    \b
    Example:
        echo "Talk to your customers every week." | podpipe classify
    """
    from .extraction import classify_lines

    print_rows(classify_lines(input), "nl")


@cli.command(name="link")
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def link_cmd(episode_ids, db_path):
    """Link transcript speakers and items to people and their roles."""
    from .profiles import link

    db = get_db(db_path, lock=True)
    counts = link(db, episode_ids=episode_ids)
    click.echo(f"{counts['episodes']} episodes linked, {counts['items_linked']} items linked, "
               f"{counts['suggestions']} uncertain matches waiting ('podpipe profiles matches')")


@cli.group()
def profiles():
    """Role profiles: roles and the people who hold them."""


@profiles.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@db_option
def profiles_import(paths, db_path):
    """Import role pages (Markdown, text) or profile files (YAML, JSON)."""
    from .profiles import ProfileError, import_profiles

    db = get_db(db_path, lock=True)
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
    print_rows(db.query(
        "select p.id, p.name, p.title, p.organization, r.name as role, "
        "(select count(*) from items i where i.person_id = p.id) as items, "
        "(select count(*) from episode_people ep where ep.person_id = p.id) as episodes "
        "from people p left join roles r on r.id = p.role_id order by p.name"), fmt)


def _clock(seconds):
    seconds = int(seconds or 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"


@profiles.command(name="show")
@click.argument("name")
@db_option
def profiles_show(name, db_path):
    """Show a person's profile, role, quotes and tips with citations."""
    import json as _json

    from .profiles import profile

    db = get_db(db_path)
    found = profile(db, name)
    if not found:
        raise click.ClickException(f"no person named {name!r} (see 'podpipe profiles list')")
    person, role = found["person"], found["role"]
    click.echo(person["name"])
    for label, key in (("Title", "title"), ("Organization", "organization"),
                       ("About the organization", "organization_description"), ("Location", "location"),
                       ("Education", "education"), ("Background", "background")):
        if person[key]:
            click.echo(f"{label}: {person[key]}")
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
    from .profiles import ProfileError, link_person

    db = get_db(db_path)
    try:
        link_person(db, label, person, episode)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"linked: {label} -> {person}")


@profiles.command(name="merge")
@click.argument("keep")
@click.argument("other")
@db_option
def profiles_merge(keep, other, db_path):
    """Merge person OTHER into KEEP (items, episodes and names move over)."""
    from .profiles import ProfileError, merge_people

    db = get_db(db_path)
    try:
        merge_people(db, keep, other)
    except ProfileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"merged: {other} -> {keep}")


@profiles.command(name="matches")
@db_option
@output_options
def profiles_matches(db_path, fmt):
    """Uncertain speaker-to-person matches waiting for an editor."""
    db = get_db(db_path)
    print_rows(db.query("select m.episode_id, m.label, p.name as suggested_person, m.score "
                        "from person_matches m join people p on p.id = m.person_id "
                        "where m.status = 'pending' order by m.episode_id, m.label"), fmt)


STAGES = ("ingest", "download", "transcribe", "extract", "link")


@cli.command()
@click.argument("feeds_", metavar="[FEED]...", nargs=-1)
@click.option("--stages", default=",".join(STAGES), show_default=True,
              help="Comma-separated stages to run, in pipeline order")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only episodes published on or after DATE")
@download_options
@transcribe_options
@db_option
def run(feeds_, stages, db_path, **opts):
    """Run every stage in order, doing only the work not yet done.

    \b
    Examples:
        podpipe run feeds/demo/feed.xml
        podpipe run --stages download,transcribe --limit 5
    """
    from .maintenance import clean_temp_files
    from .runs import finish_run, start_run

    wanted = [s.strip() for s in stages.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STAGES]
    if unknown:
        raise click.UsageError(f"unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    if opts.get("since"):
        opts["since"] = opts["since"].date().isoformat()
    db = get_db(db_path, lock=True)
    # we hold the lock, so any temp file lying about was left by a killed run
    clean_temp_files(db, opts["audio_dir"], opts["transcripts_dir"])
    selectors = subscribe(db, feeds_)
    run_id = start_run(db, "run", {"feeds": feeds_, "stages": wanted, **opts})
    counts, errors = {}, []
    # SIGTERM (from cron, systemd, kill) stops at the next safe point like Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if "ingest" in wanted:
            counts["ingest"], ingest_errors = run_ingest(db, selectors, click.echo)
            errors += ingest_errors
            click.echo(f"ingest: {counts['ingest']['new']} new, {counts['ingest']['updated']} updated, "
                       f"{counts['ingest']['failed']} feeds failed")
        if "download" in wanted:
            result = run_download(db, opts, click.echo)
            counts["download"] = {"downloaded": result["downloaded"], "failed": result["failed"]}
            errors += [{"episode": e, "error": m} for e, m in result["errors"]]
            click.echo(f"download: {result['downloaded']} downloaded, {result['failed']} failed")
        if "transcribe" in wanted:
            result = run_transcribe(db, opts, click.echo)
            counts["transcribe"] = _counts(result)
            errors += [{"episode": e, "error": m} for e, m in result["errors"]]
            click.echo(f"transcribe: {result['transcribed']} transcribed ({result['publisher']} publisher, "
                       f"{result['whisper']} Whisper), {result['failed']} failed")
        if "extract" in wanted:
            result = run_extract(db, opts["episode_ids"], False, None, click.echo)
            counts["extract"] = {"episodes": result["episodes"], "items": result["items"]}
            click.echo(f"extract: {result['items']} items from {result['episodes']} episodes")
        if "link" in wanted:
            from .profiles import link

            counts["link"] = link(db, episode_ids=opts["episode_ids"])
            click.echo(f"link: {counts['link']['items_linked']} items linked, "
                       f"{counts['link']['suggestions']} uncertain matches waiting")
    except KeyboardInterrupt:
        finish_run(db, run_id, "interrupted", counts, errors)
        done = "; ".join(f"{stage}: {c}" for stage, c in counts.items()) or "nothing"
        click.echo(f"interrupted; finished and saved: {done}. Run again to continue.", err=True)
        sys.exit(130)
    finish_run(db, run_id, "partial" if errors else "ok", counts, errors)
    if errors:
        sys.exit(EXIT_FAILED)


@cli.command()
@db_option
def status(db_path):
    """Show the pipeline at a glance: episodes per state, failures, last runs."""
    from .queue import failures, feed_failures, status_by_feed

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
    print_rows(db.query("select id, command, status, started, finished, counts from runs "
                        "order by id desc limit 5"))


@cli.command()
@click.option("--failed", is_flag=True, help="Only runs that did not finish cleanly")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@db_option
@output_options
def runs(failed, limit, db_path, fmt):
    """List runs from the job log."""
    from .runs import mark_interrupted

    db = get_db(db_path)
    mark_interrupted(db)
    where = "where status in ('partial', 'failed', 'interrupted')" if failed else ""
    print_rows(db.query(f"select id, command, status, started, finished, counts, errors from runs {where} "
                        f"order by id desc limit {int(limit)}"), fmt)


@cli.command()
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def retry(episode_ids, db_path):
    """Re-queue failed episodes (their attempt counts are kept)."""
    from .queue import retry as requeue

    db = get_db(db_path, lock=True)
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
    print_rows(db.query("select e.id, f.title as feed, e.title, e.published, e.status, e.error "
                        "from episodes e join feeds f on f.id = e.feed_id order by e.published, e.id"), fmt)


if __name__ == "__main__":
    cli()
