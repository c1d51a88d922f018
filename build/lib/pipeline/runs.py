"""The job log: one row in runs per command that changes the pipeline."""
import json
import os

from .db import utcnow


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_interrupted(db):
    """Runs left 'running' by a process that no longer exists were interrupted."""
    for row in list(db.query("select id, pid from runs where status = 'running'")):
        if not row["pid"] or not _alive(row["pid"]) or row["pid"] == os.getpid():
            db["runs"].update(row["id"], {"status": "interrupted"})


def start_run(db, command, options=None):
    mark_interrupted(db)
    return db["runs"].insert({
        "command": command, "options": json.dumps(options or {}, sort_keys=True, default=str),
        "started": utcnow(), "status": "running", "pid": os.getpid(),
    }).last_pk


def finish_run(db, run_id, status, counts=None, errors=None):
    db["runs"].update(run_id, {
        "finished": utcnow(), "status": status,
        "counts": json.dumps(counts or {}, sort_keys=True),
        "errors": json.dumps(errors or [], default=str),
    })


def list_runs(db, *, failed=False, limit=20, columns="id, command, status, started, finished, counts, errors"):
    """The latest runs, newest first; with failed, only those that did not finish cleanly."""
    where = "where status in ('partial', 'failed', 'interrupted')" if failed else ""
    return db.query(f"select {columns} from runs {where} order by id desc limit {int(limit)}")
