"""Running and looking after the pipeline: status, runs, retry, config, backup,
check, episodes, and a local Dask cluster."""
import sys

import click

from ..output import output_options, print_rows
from .options import EXIT_FAILED, audio_dir_option, db_option, get_db, transcripts_dir_option


@click.group(name="cluster")
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

    from ..cluster import start_local

    with start_local(workers, port=port) as local:
        click.echo(f"scheduler {local.scheduler_address} with {workers} workers; dashboard {local.dashboard_link}")
        click.echo(f"use it with: podpipe run --cluster {local.scheduler_address}   (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)


@click.command()
@db_option
def status(db_path):
    """Show the pipeline at a glance: episodes per state, failures, last runs."""
    from ..queue import failures, feed_failures, status_by_feed
    from ..runs import list_runs

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


@click.command()
@click.option("--failed", is_flag=True, help="Only runs that did not finish cleanly")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@db_option
@output_options
def runs(failed, limit, db_path, fmt):
    """List runs from the job log."""
    from ..runs import list_runs, mark_interrupted

    db = get_db(db_path)
    mark_interrupted(db)
    print_rows(list_runs(db, failed=failed, limit=limit), fmt)


@click.command()
@click.option("--episode", "episode_ids", type=int, multiple=True, help="Only this episode id (repeatable)")
@db_option
def retry(episode_ids, db_path):
    """Re-queue failed episodes (their attempt counts are kept)."""
    from ..queue import retry as requeue

    db = get_db(db_path, lock=True, create=True)
    n = requeue(db, episode_ids)
    click.echo(f"{n} episodes re-queued; 'podpipe run' will try them again")


@click.command(name="config")
@click.pass_context
def config_cmd(ctx):
    """Print the configuration in force and where each value comes from."""
    for key, (value, source) in ctx.find_root().obj["config"].items():
        click.echo(f"{key} = {value!r}  # {source}")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@db_option
def backup(path, db_path):
    """Copy the database to PATH with SQLite's online backup (safe while jobs run)."""
    from ..maintenance import backup as copy

    db = get_db(db_path)
    size = copy(db, path)
    click.echo(f"backed up to {path} ({size} bytes)")


@click.command()
@audio_dir_option
@transcripts_dir_option
@db_option
def check(audio_dir, transcripts_dir, db_path):
    """Check the database (integrity, foreign keys) and the files it names."""
    from ..maintenance import check as find_problems

    db = get_db(db_path)
    problems = find_problems(db, audio_dir, transcripts_dir)
    for problem in problems:
        click.echo(problem)
    click.echo(f"{len(problems)} problems found" if problems else "ok: no problems found")
    if problems:
        sys.exit(EXIT_FAILED)


@click.command()
@db_option
@output_options
def episodes(db_path, fmt):
    """List episodes with their status."""
    db = get_db(db_path)
    from ..queue import list_episodes

    print_rows(list_episodes(db), fmt)
