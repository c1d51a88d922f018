"""Printing rows: a table on a terminal (JSON Lines when piped), or -t, --json,
--nl (JSON Lines), --csv (spreadsheet-safe, see csvsafe.py) or --raw-csv."""
import csv
import functools
import json
import sys

import click

from .csvsafe import defuse_row


def output_options(fn):
    """The shared -t/--json/--nl/--csv options for commands that print rows.

    Without one: a table on a terminal, JSON Lines when piped to a program.
    """
    command = fn

    @functools.wraps(command)
    def with_default(*args, fmt=None, **kwargs):
        return command(*args, fmt=fmt or ("table" if sys.stdout.isatty() else "nl"), **kwargs)

    fn = with_default
    for decorator in reversed([
        click.option("fmt", "--json", flag_value="json", help="Output a JSON array"),
        click.option("fmt", "--nl", flag_value="nl", help="Output JSON Lines, one object a line"),
        click.option("fmt", "--csv", flag_value="csv",
                     help="Output CSV with a header row (a ' before cells a spreadsheet would run as formulas)"),
        click.option("fmt", "--raw-csv", flag_value="rawcsv",
                     help="Output CSV with every cell as stored (for scripts, not spreadsheets)"),
        click.option("fmt", "-t", "--table", flag_value="table", help="Output a plain-text table"),
    ]):
        fn = decorator(fn)
    return fn


def print_rows(rows, fmt=None, columns=None, out=None):
    """Write rows (an iterable of dicts) in fmt; streams for json, nl and csv."""
    out = out or sys.stdout
    rows = iter(rows)
    fmt = fmt or "table"
    if fmt == "nl":
        for row in rows:
            out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out.write("[")
        for i, row in enumerate(rows):
            out.write(("," if i else "") + "\n  " + json.dumps(row, default=str, ensure_ascii=False))
        out.write("\n]\n")
    elif fmt in ("csv", "rawcsv"):
        if fmt == "csv":
            rows = map(defuse_row, rows)
        first = next(rows, None)
        keys = columns or (list(first) if first else [])
        writer = csv.DictWriter(_LineFeeds(out), fieldnames=keys, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        if first is not None:
            writer.writerow(first)
            writer.writerows(rows)
    else:
        rows = list(rows)
        if not rows:
            return
        keys = columns or list(rows[0])
        cells = [[_cell(r.get(k)) for k in keys] for r in rows]
        widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
        out.write("  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip() + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for c in cells:
            out.write("  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip() + "\n")


class _LineFeeds:
    """Rows end in \n on the way out. The csv module quotes a cell only for the
    characters of its line terminator, so we give it \r\n: a lone \r in a
    cell is then quoted instead of breaking the row in two."""

    def __init__(self, out):
        self.out = out

    def write(self, text):
        return self.out.write(text[:-2] + "\n" if text.endswith("\r\n") else text)


def _cell(value, width=60):
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
