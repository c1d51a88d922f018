"""The podpipe command line: parses options, opens the database, calls the
library and prints. The work lives in the stage modules; the commands live in
``pipeline/commands/``, one module per area, and each is imported only when it
runs, so that ``podpipe search`` does not pay for building the desk's or the
cluster's commands."""
import importlib
import logging
import os
import sqlite3
import sys

import click

from . import __version__
from .commands.options import db_option
from .errors import PodpipeError

log = logging.getLogger("podpipe")

# Every command: the module of pipeline/commands that defines it, its name there, and the
# first paragraph of its help, which `podpipe --help` shows without importing the module
# (tests/test_cli.py checks that these match the commands).
COMMANDS = {
    "feeds": ("feeds", "feeds", "Manage the feeds you subscribe to."),
    "ingest": ("stages", "ingest", "Fetch feeds and store their episodes (all subscribed feeds by default)."),
    "download": ("stages", "download_cmd", "Download audio and publisher transcripts of ingested episodes."),
    "transcribe": ("stages", "transcribe_cmd",
                   "Transcribe downloaded episodes (publisher transcripts first, else Whisper)."),
    "diarize": ("stages", "diarize_cmd", "Name the speakers of Whisper transcripts already in the database."),
    "extract": ("stages", "extract_cmd", "Extract quotes and tips from transcripts, linked to who said them."),
    "classify": ("stages", "classify",
                 "Classify sentences, one a line, as tip, quote or none, with a calibrated score."),
    "embed": ("stages", "embed_cmd", "Store sentence vectors of passages and items, for search by meaning."),
    "link": ("stages", "link_cmd", "Link transcript speakers and items to people and their roles."),
    "run": ("stages", "run", "Run every stage in order, doing only the work not yet done."),
    "transcripts": ("transcripts", "transcripts", "Import and show transcripts."),
    "speakers": ("transcripts", "speakers", "Show who speaks in an episode (a sample line each), or correct it."),
    "profiles": ("profiles", "profiles", "Role profiles: roles and the people who hold them."),
    "search": ("search", "search", "Search tips, quotes (default) or transcript segments, best first."),
    "similar": ("search", "similar",
                "Who else said this: the items (or passages) closest in meaning to item ID."),
    "query": ("search", "query_cmd", "Run a read-only SQL query (the database is opened read-only)."),
    "review": ("items", "review",
               "Go through pending items one by one: approve, reject, edit, change kind, skip, quit."),
    "items": ("items", "items", "Approve, reject and edit items without the interactive review."),
    "topics": ("items", "topics",
               "Grow the topic taxonomy: suggest topics from clusters of approved items, accept them."),
    "collections": ("items", "collections", "Curate named, ordered collections of items for export."),
    "export": ("export", "export_cmd", "Export a collection, a search, or every item except rejected ones."),
    "serve": ("web", "serve",
              "Browse, search and facet the database in Datasette (pip install 'podpipe[datasette]')."),
    "desk": ("web", "desk", "Review, edit and collect quotes in a web page, with the audio at the second "
                            "(pip install 'podpipe[desk]')."),
    "status": ("operations", "status", "Show the pipeline at a glance: episodes per state, failures, last runs."),
    "runs": ("operations", "runs", "List runs from the job log."),
    "retry": ("operations", "retry", "Re-queue failed episodes (their attempt counts are kept)."),
    "config": ("operations", "config_cmd", "Print the configuration in force and where each value comes from."),
    "backup": ("operations", "backup",
               "Copy the database to PATH with SQLite's online backup (safe while jobs run)."),
    "check": ("operations", "check", "Check the database (integrity, foreign keys) and the files it names."),
    "episodes": ("operations", "episodes", "List episodes with their status."),
    "cluster": ("operations", "cluster_group", "Run the heavy work on a Dask cluster."),
}


class Podpipe(click.Group):
    """Our group: commands are imported when used (the lazy loading of Click's
    docs), and expected failures from anywhere become one line, never a traceback."""

    def __init__(self, *args, lazy=None, **kwargs):
        self.lazy = lazy or {}
        super().__init__(*args, **kwargs)

    def list_commands(self, ctx):
        return sorted({*self.loaded, *self.lazy})

    def get_command(self, ctx, name):
        if name not in self.loaded and name in self.lazy:
            module, attr, _ = self.lazy[name]
            self.loaded[name] = getattr(importlib.import_module(f".commands.{module}", __package__), attr)
        return self.loaded.get(name)

    @property
    def commands(self):
        """Every command, loaded: for code that walks the whole tree (the tests, shell completion)."""
        for name in self.lazy:
            self.get_command(None, name)
        return self.loaded

    @commands.setter
    def commands(self, value):  # click.Group.__init__ sets it
        self.loaded = value

    def format_commands(self, ctx, formatter):
        # as click.Group does it, from the help kept in COMMANDS: no command module is imported
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = [(name, (self.loaded.get(name) or click.Command(name, help=self.lazy[name][2]))
                 .get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


@click.group(cls=Podpipe, lazy=COMMANDS)
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
    # only the command being run: the others stay unimported
    name = ctx.invoked_subcommand
    ctx.default_map = default_map({name: cli.get_command(ctx, name)} if name else {}, config)
    if verbose or log_file:
        handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


if __name__ == "__main__":
    cli()
