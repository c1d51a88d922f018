"""The work queue: which episodes a stage still has to do, re-queueing
failures, and the pipeline at a glance."""
from .db import utcnow


def pending_filter(*, episode_ids=None, since=None, max_attempts=3, limit=None, alias="e"):
    """SQL conditions (to follow a WHERE) and parameters shared by the stages.

    A failed episode is retried until it has failed max_attempts times in a
    row; `podpipe retry` re-queues it past that, keeping the count.
    """
    sql = f" and ({alias}.status != 'failed' or {alias}.attempts < ?)"
    params = [max_attempts]
    if episode_ids:
        sql += f" and {alias}.id in ({','.join('?' * len(episode_ids))})"
        params += list(episode_ids)
    if since:
        sql += f" and {alias}.published >= ?"
        params.append(str(since))
    sql += f" order by {alias}.published, {alias}.id"
    if limit:
        sql += f" limit {int(limit)}"
    return sql, params


def pending_episodes(db, condition, *, joins="", columns="", **filters):
    """The rows every stage's queue returns: each episode with all its columns
    plus ``feed_title`` and ``feed_url`` (and ``columns`` from ``joins``), where
    ``condition`` holds, filtered and ordered by ``pending_filter(**filters)``."""
    where, params = pending_filter(**filters)
    return list(db.query(f"select e.*, f.title as feed_title, f.url as feed_url{columns} from episodes e "
                         f"join feeds f on f.id = e.feed_id {joins} where {condition}{where}", params))


def retry(db, episode_ids=None):
    """Re-queue failed episodes at the stage they failed in. Returns how many."""
    sql = "select id, audio_path from episodes where status = 'failed'"
    params = []
    if episode_ids:
        sql += f" and id in ({','.join('?' * len(episode_ids))})"
        params = list(episode_ids)
    rows = list(db.query(sql, params))
    with db.atomic():
        for row in rows:
            has_transcript = db.execute("select 1 from transcripts where episode_id = ?", [row["id"]]).fetchone()
            status = "transcribed" if has_transcript else "downloaded" if row["audio_path"] else "new"
            db["episodes"].update(row["id"], {"status": status, "updated": utcnow()})
    return len(rows)


def status_by_feed(db):
    return db.query("""
        select f.id as feed_id, coalesce(f.title, f.url) as feed, count(e.id) as episodes,
               sum(e.status = 'new') as new, sum(e.status = 'downloaded') as downloaded,
               sum(e.status = 'transcribed') as transcribed, sum(e.status = 'extracted') as extracted,
               sum(e.status = 'failed') as failed
        from feeds f left join episodes e on e.feed_id = f.id group by f.id order by f.id""")


def failures(db):
    return db.query("select id as episode_id, title, attempts, error from episodes "
                    "where status = 'failed' order by id")


def feed_failures(db):
    return db.query("select id as feed_id, url, last_fetched, last_error from feeds "
                    "where last_error is not null order by id")


def list_episodes(db):
    return db.query("select e.id, f.title as feed, e.title, e.published, e.status, e.error "
                    "from episodes e join feeds f on f.id = e.feed_id order by e.published, e.id")
