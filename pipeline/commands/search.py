"""podpipe search, similar and query: finding things by words, by meaning, or in SQL."""

import click

from ..output import output_options, print_rows
from .options import db_option, db_path_of, get_db, item_filter_options, item_filters, quote_option


SEARCH_TABLE_COLUMNS = ["id", "kind", "speaker", "role", "episode", "time", "snippet"]


# A common word matches thousands of segments; nobody reads past the first screens,
# and each row costs a snippet. --limit 0 asks for all.
SEARCH_LIMIT = 100


@click.command()
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
    from ..search import quote_query
    from ..search import search as run_search
    from ..semantic import default_mode, search_by_meaning

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


@click.command()
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
    from ..semantic import similar as find_similar

    rows = find_similar(get_db(db_path), item_id, kind=kind, limit=limit, other_episodes=other_episodes)
    print_rows(rows, fmt, columns=SEARCH_TABLE_COLUMNS + ["rank"] if fmt in (None, "table") else None)


@click.command(name="query")
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
    from ..query import open_read_only, run_query

    db = open_read_only(db_path_of(db_path))
    columns, rows = run_query(db, sql, dict(params))
    print_rows(rows, fmt, columns=columns)
