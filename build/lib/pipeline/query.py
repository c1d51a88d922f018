"""Read-only SQL for researchers: the database is opened read-only and only
ATTACH and setting pragmas are refused, so a query can never change or create a file."""
import sqlite3

from .db import open_db
from .errors import PodpipeError

# The file is opened read-only and with query_only, so SQLite refuses writes to it;
# these would still create or change other files (ATTACH, VACUUM INTO attaches).
DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
# pragmas that take an argument but only read
READING_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
                   "foreign_key_check", "integrity_check", "quick_check", "table_list"}
WRITES = ("readonly", "not authorized", "authorization denied", "query_only")


class QueryError(PodpipeError, ValueError):
    """A query that cannot run; the message is for the user."""


def _authorize(action, arg1, arg2, db_name, trigger):
    if action in DENIED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and arg1 not in READING_PRAGMAS:
        return sqlite3.SQLITE_DENY  # setting a pragma: journal_mode=delete would try to write
    return sqlite3.SQLITE_OK


def open_read_only(path):
    """Open an existing database for reading only."""
    try:
        db = open_db(path, read_only=True)
    except FileNotFoundError:
        raise QueryError(f"no database at {path}") from None
    db.conn.execute("PRAGMA query_only = 1")
    db.conn.set_authorizer(_authorize)
    return db


def run_query(db, sql, params=None):
    """Run one read-only statement; returns (column names, an iterator of row dicts)."""
    try:
        cursor = db.conn.execute(sql, params or {})
    except (sqlite3.Error, sqlite3.Warning) as exc:
        message = str(exc)
        if any(w in message for w in WRITES):
            raise QueryError(f"podpipe query is read-only: it runs SELECT statements, not writes ({message})") \
                from None
        raise QueryError(f"SQL error: {message}") from None
    columns = [d[0] for d in cursor.description or ()]

    def generate():
        for values in cursor:
            yield dict(zip(columns, values))

    return columns, generate()
