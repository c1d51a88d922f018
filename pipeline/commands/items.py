"""Editors' work on items: review, items, topics and collections."""

import click

from ..output import output_options, print_rows
from .options import db_option, get_db, item_filter_options, item_filters, plural, quote_option


REVIEW_ACTIONS = {"a": "approve", "r": "reject", "e": "edit text", "k": "change kind", "s": "skip", "q": "quit"}


@click.command()
@click.option("--episode", type=int, help="Only this episode's items")
@click.option("--collection", help="Only items in this collection")
@db_option
def review(episode, collection, db_path):
    """Go through pending items one by one: approve, reject, edit, change kind, skip, quit.

    Every decision is saved at once; run it again to carry on where you
    stopped (skipped items come last).
    """
    from collections import Counter

    from ..collections import get_collection
    from ..review import (ReviewError, describe, edit_item, fetch_review_item, pending_items, set_status,
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


@click.group()
def items():
    """Approve, reject and edit items without the interactive review."""


def _ids_or_collection(db, ids, collection):
    from ..collections import collection_item_ids, get_collection

    if not ids and not collection:
        raise click.UsageError("give item ids, or --collection NAME")
    if collection:
        ids = list(ids) + collection_item_ids(db, get_collection(db, collection)["id"])
    return ids


def _set_status(db_path, ids, collection, status):
    from ..review import set_status

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
    from ..review import edit_item, fetch_items

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
    from ..export import select_items
    from ..review import fetch_items

    db = get_db(db_path)
    fetch_items(db, [item_id])
    _, rows = select_items(db, statuses=["all"], ids=[item_id])
    row = next(rows)
    from ..duplicates import group_of

    row["near_duplicates"] = [f"{d['id']}{' (kept)' if d['representative'] else ''}" for d in group_of(db, item_id)
                              if d["id"] != item_id]
    if fmt in (None, "table"):
        print_rows(({"field": k, "value": ", ".join(map(str, v)) if isinstance(v, list) else v}
                    for k, v in row.items()), fmt)
    else:
        print_rows([row], fmt)


@click.group()
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
    from ..themes import suggest

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
    from ..themes import accept

    ids = None
    if item_ids is not None:
        try:
            ids = [int(i) for i in item_ids.split(",") if i.strip()]
        except ValueError:
            raise click.UsageError(f"--items takes comma-separated ids, not {item_ids!r}") from None
    tagged = accept(get_db(db_path), name, item_ids=ids, suggestion=suggestion)
    click.echo(f"tagged {plural(len(tagged), 'item')} with topic {' '.join(name.split())!r}")


@click.group()
def collections():
    """Curate named, ordered collections of items for export."""


@collections.command(name="create")
@click.argument("name")
@click.option("--description", help="What the collection is for (shown in exports)")
@db_option
def collections_create(name, description, db_path):
    """Create an empty collection."""
    from ..collections import save_collection

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
    from ..collections import add_items, get_collection
    from ..search import matching_item_ids, quote_query

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
    from ..collections import remove_items

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
    from ..collections import move_item

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
    from ..collections import set_note

    db = get_db(db_path)
    set_note(db, name, item_id, note)
    click.echo(f"{'noted' if note else 'removed the note on'} item {item_id} in {name}")


@collections.command(name="list")
@db_option
@output_options
def collections_list(db_path, fmt):
    """List collections with their item counts."""
    from ..collections import fetch_collections

    db = get_db(db_path)
    print_rows(fetch_collections(db), fmt, columns=["name", "description", "items", "created"])


@collections.command(name="show")
@click.argument("name")
@db_option
@output_options
def collections_show(name, db_path, fmt):
    """List a collection's items in order (every status)."""
    from ..export import select_items

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
    from ..collections import delete_collection, get_collection

    db = get_db(db_path)
    get_collection(db, name)
    if not yes:
        click.confirm(f"Delete collection {name}?", abort=True)
    n = delete_collection(db, name)
    click.echo(f"deleted collection {name} ({plural(n, 'item')}; the items stay)")
