"""podpipe export: a collection, a search or every item as md, html, csv, json, jsonl or readwise."""
import sys

import click

from .options import db_option, get_db, item_filter_options, item_filters, plural, quote_option, quote_query_if


@click.command(name="export")
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
    from ..export import export_items, format_for

    fmt = format_for(output, fmt)
    db = get_db(db_path)
    if filters.get("role") and fmt in ("md", "html") and not collection and not query:
        return _export_role_page(db, filters["role"], fmt, output, filters.get("statuses"))
    n = export_items(db, fmt, path=output, out=sys.stdout, collection=collection,
                     query=quote_query_if(query, quote), raw_csv=raw_csv, clean=clean, **item_filters(**filters))
    if output:
        click.echo(f"exported {plural(n, 'item')} to {output}", err=True)


def _export_role_page(db, role, fmt, output, statuses):
    from ..files import atomic_file
    from ..role_page_export import render_html, render_markdown, role_page

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
