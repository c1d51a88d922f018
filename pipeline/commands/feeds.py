"""podpipe feeds: subscribing to feeds, listing, removing, OPML."""
import os

import click

from ..output import output_options, print_rows
from .options import db_option, db_path_of, get_db, plural


@click.group()
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
    from ..subscriptions import add_feeds

    db = get_db(db_path, create=True)
    for url, added in add_feeds(db, locations):
        click.echo(f"{'added' if added else 'already subscribed'}: {url}")


@feeds.command(name="list")
@db_option
@output_options
def feeds_list(db_path, fmt):
    """List subscribed feeds with episode counts."""
    db = get_db(db_path)
    from ..subscriptions import list_feeds

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
    from ..db import utcnow
    from ..feeds import feed_rows
    from ..files import feed_slug
    from ..subscriptions import editor_decisions, remove_feed, removal_summary, save_decisions

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
    from ..feeds import FeedError
    from ..subscriptions import add_feeds, parse_opml

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
    from ..subscriptions import export_opml, list_feeds

    db = get_db(db_path)
    click.echo(export_opml(list_feeds(db)), nl=False)
