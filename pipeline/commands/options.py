"""Options and helpers the commands share: --db and opening the database, the
filters of search, export and collections, exit statuses."""
import os

import click

from ..db import open_db, open_for_reading


EXIT_FAILED = 1  # some work failed; the rest is done
EXIT_USAGE = 2  # usage or configuration error


class ConfigProblem(click.ClickException):
    exit_code = EXIT_USAGE


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


def transcripts_dir_option(fn):
    return click.option("--transcripts-dir", type=click.Path(file_okay=False), envvar="PODPIPE_TRANSCRIPTS_DIR",
                        default="transcripts", show_default=True,
                        help="Folder for transcript files (env PODPIPE_TRANSCRIPTS_DIR)")(fn)


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
        from ..maintenance import Lock

        try:
            ctx.with_resource(Lock(path, wait=root.params.get("wait") or 0))
        except OSError as exc:
            raise click.ClickException(f"cannot lock {path}: {exc.strerror}") from None
    try:
        return open_for_reading(path) if read else open_db(path)
    except Exception as exc:  # sqlite3 errors, permissions: one line for the user
        raise click.ClickException(f"cannot open database {path}: {exc}") from None


def db_path_of(path):
    """The database path get_db would open, without opening it."""
    from ..db import resolve_db_path

    root = click.get_current_context().find_root()
    # --db may be given before the command too: podpipe --db x.db ingest
    return resolve_db_path(path or root.params.get("db_path"), (root.obj or {}).get("config"))


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def item_filter_options(kinds):
    """--kind, --person, --role, --feed, --topic, --since, --status: what search, export and collections share."""
    from ..search import STATUSES

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


def quote_query_if(query, quote):
    from ..search import quote_query

    return quote_query(query) if quote and query else query
