"""The desk's web app: pages and the POSTs behind the buttons and keys.

Every handler is a thin call into the library (review, collections, export,
profiles, link, queue, runs); the desk adds no rules of its own. Handlers run
on the event loop with one SQLite connection per thread: each request is a
few milliseconds of SQL, and a write that meets a CLI job's transaction waits
on SQLite's busy timeout rather than failing.
"""
import io
import json
import mimetypes
import threading
from pathlib import Path
from urllib.parse import urlencode

from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import collections as coll
from ..citations import date_of, format_timestamp
from ..db import open_db
from ..errors import PodpipeError
from ..export import FORMATS, export_items
from ..link import pending_matches, reject_match
from ..profiles import link_person, list_people, profile
from ..queue import failures, feed_failures, retry, status_by_feed
from ..review import count_pending, edit_item, fetch_review_item, pending_items, set_status, skip_item
from ..runs import list_runs
from ..search import ITEM_KINDS, TOPICS, SearchError, search_items
from ..semantic import MODES, default_mode, search_by_meaning
from ..text import slugify
from ..transcripts import segments_around
from ..urls import web_only
from .guard import CsrfError, Guard, checked_form, new_secret
from .textdiff import diff_html

HERE = Path(__file__).parent
PAGE = 25  # items on a queue page; the next page loads when these are decided
QUEUE_FILTERS = ("feed", "person", "role", "topic", "kind", "min_score")
EXPORT_TYPES = {"md": "text/markdown", "html": "text/html", "csv": "text/csv", "json": "application/json",
                "jsonl": "application/x-ndjson", "readwise": "text/csv"}
EXPORT_SUFFIX = {"readwise": "readwise.csv"}


def _loads(value, default):
    try:
        return json.loads(value) if value else default
    except ValueError:
        return default


class Desk:
    """The database path, one connection per thread, and where relative audio paths start."""

    def __init__(self, db_path, base_dir):
        self.db_path = str(db_path)
        self.base_dir = Path(base_dir)
        self.local = threading.local()

    @property
    def db(self):
        if getattr(self.local, "db", None) is None:
            self.local.db = open_db(self.db_path)
        return self.local.db

    def audio_file(self, episode):
        path = episode.get("audio_path")
        if not path:
            return None
        path = Path(path) if Path(path).is_absolute() else self.base_dir / path
        return path if path.is_file() else None


def wants_json(request):
    return "application/json" in request.headers.get("accept", "")


def done(request, payload, back):
    """JSON for our script, a redirect back for a plain form."""
    if wants_json(request):
        return JSONResponse(payload)
    return RedirectResponse(back, 303)


# --- items ------------------------------------------------------------------

def card(desk, row):
    """An item row with what its card shows: context lines, audio, diff, topics."""
    db = desk.db
    row = dict(row)
    row["topics"] = _loads(row.get("topics"), [])
    row["context"] = segments_around(db, row.get("transcript_id"), _loads(row.get("segment_ids"), []))
    row["time"] = format_timestamp(row.get("start"))
    row["date"] = date_of(row.get("published"))
    audio = None
    if row.get("episode_id") is not None:
        if desk.audio_file(row):
            audio = f"/audio/{row['episode_id']}"
        else:
            audio = web_only(row.get("enclosure_url"))
    row["audio"] = audio
    row["diff"] = diff_html(row["text"], row["edited_text"]) if row.get("edited_text") else None
    return row


def item_json(desk, item_id):
    row = card(desk, fetch_review_item(desk.db, item_id))
    return {"id": row["id"], "status": row["status"], "kind": row["kind"], "text": row["text"],
            "edited_text": row["edited_text"], "diff": str(row["diff"] or "")}


def queue_filters(request):
    """The queue's filters from the query string, as pending_items takes them."""
    q = request.query_params
    filters = {"feed": q.get("feed") or None, "person": q.get("person") or None, "role": q.get("role") or None,
               "topic": q.get("topic") or None, "kinds": [q["kind"]] if q.get("kind") else None}
    min_score = q.get("min_score") or None
    if min_score is not None:
        try:
            min_score = float(min_score)
        except ValueError:
            raise PodpipeError(f"a score is a number between 0 and 1, not {min_score!r}") from None
    return filters, min_score


async def queue_page(request):
    desk = request.app.state.desk
    filters, min_score = queue_filters(request)
    rows = pending_items(desk.db, order="score", limit=PAGE, min_score=min_score, **filters)
    return render(request, "queue.html", {
        "items": [card(desk, r) for r in rows],
        "pending": count_pending(desk.db, min_score=min_score, **filters),
        "filters": {k: request.query_params.get(k, "") for k in QUEUE_FILTERS},
        "choices": filter_choices(desk.db), "collections": collections_list(desk.db)})


def filter_choices(db):
    return {"feeds": [r[0] for r in db.execute("select coalesce(title, url) from feeds order by 1")],
            "roles": [r[0] for r in db.execute("select name from roles order by name")],
            "topics": TOPICS, "kinds": ITEM_KINDS}


async def item_page(request):
    desk = request.app.state.desk
    row = fetch_review_item(desk.db, request.path_params["id"])
    return render(request, "item.html", {"item": card(desk, row),
                                         "collections": collections_list(desk.db)})


async def item_action(request):
    """approve, reject, pending, skip, kind, edit, revert: saved at once."""
    desk = request.app.state.desk
    form = await checked_form(request)
    item_id, action = request.path_params["id"], request.path_params["action"]
    with desk.db.atomic():
        change_item(desk.db, item_id, action, form)
    return done(request, item_json(desk, item_id), f"/items/{int(item_id)}")


def change_item(db, item_id, action, form):
    if action in ("approve", "reject", "pending"):
        set_status(db, [item_id], {"approve": "approved", "reject": "rejected"}.get(action, action))
    elif action == "skip":
        skip_item(db, item_id)
    elif action == "kind":
        row = fetch_review_item(db, item_id)
        edit_item(db, item_id, kind=form.get("kind") or ("tip" if row["kind"] == "quote" else "quote"))
    elif action == "edit":
        edit_item(db, item_id, text=str(form.get("text") or "").replace("\r\n", "\n"))
    elif action == "revert":
        edit_item(db, item_id, text=fetch_review_item(db, item_id)["text"])
    else:
        raise HTTPException(404)


async def audio(request):
    """The downloaded audio file, with Range support so that seeking works."""
    desk = request.app.state.desk
    episode = next(desk.db.query("select audio_path from episodes where id = ?", [request.path_params["id"]]), None)
    path = desk.audio_file(episode) if episode else None
    if path is None:
        raise HTTPException(404, "no audio file for this episode")
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


# --- search and collections ---------------------------------------------------

SEARCH_MODES = {"fts": "words", "semantic": "meaning", "hybrid": "both"}  # the selector's labels
SEARCH_LIMIT = 100


async def search_page(request):
    """Items by words (FTS5), by meaning (the vectors of 'podpipe embed') or both;
    by default both when there are vectors, as 'podpipe search' does."""
    desk = request.app.state.desk
    q = request.query_params
    query = (q.get("q") or "").strip()
    mode = q.get("mode") or default_mode(desk.db)
    kind = q.get("kind") or None
    if mode not in MODES:
        raise SearchError(f"unknown search mode {mode!r}; choose from {', '.join(MODES)}")
    if kind and kind not in ITEM_KINDS:
        raise SearchError(f"the desk searches {' and '.join(ITEM_KINDS)}s, not {kind!r}")
    filters = {"person": q.get("person") or None, "topic": q.get("topic") or None, "statuses": ["all"],
               "highlight": ("\x02", "\x03")}
    rows = []
    if query and mode != "fts":
        rows = search_by_meaning(desk.db, query, kind=kind, mode=mode, limit=SEARCH_LIMIT, **filters)
    elif query or kind or filters["person"] or filters["topic"]:
        # without a query there is nothing to mean: the filters alone, best score first
        rows = list(search_items(desk.db, query or None, limit=SEARCH_LIMIT, kinds=[kind] if kind else None,
                                 **filters))
    return render(request, "search.html", {"rows": rows, "q": query, "params": dict(q), "mode": mode,
                                           "modes": SEARCH_MODES, "choices": filter_choices(desk.db),
                                           "collections": collections_list(desk.db)})


def collections_list(db):
    """fetch_collections with each collection's id, which the desk's addresses use."""
    ids = {r[1]: r[0] for r in db.execute("select id, name from collections")}
    return [dict(row, id=ids[row["name"]]) for row in coll.fetch_collections(db)]


def collection_by_id(db, collection_id):
    row = db.execute("select name from collections where id = ?", [collection_id]).fetchone()
    if row is None:
        raise HTTPException(404, "no such collection")
    return coll.get_collection(db, row[0])


async def collections_page(request):
    desk = request.app.state.desk
    return render(request, "collections.html", {"collections": collections_list(desk.db)})


async def collection_create(request):
    desk = request.app.state.desk
    form = await checked_form(request)
    with desk.db.atomic():
        collection_id = coll.save_collection(desk.db, form.get("name"), form.get("description") or None)
    return done(request, {"id": collection_id}, f"/collections/{collection_id}")


async def collection_page(request):
    desk = request.app.state.desk
    collection = collection_by_id(desk.db, request.path_params["id"])
    ids = coll.collection_item_ids(desk.db, collection["id"])
    notes = {r[0]: r[1] for r in desk.db.execute(
        "select item_id, note from collection_items where collection_id = ?", [collection["id"]])}
    rows = [dict(fetch_review_item(desk.db, i), note=notes.get(i)) for i in ids]
    return render(request, "collection.html", {"collection": collection, "rows": rows, "formats": FORMATS})


async def collection_action(request):
    """add (ids, from the queue or a search), remove, move (drag and drop), note."""
    desk = request.app.state.desk
    form = await checked_form(request)
    collection = collection_by_id(desk.db, request.path_params["id"])
    name, action = collection["name"], request.path_params["action"]
    with desk.db.atomic():
        result = change_collection(desk.db, name, action, form)
    result["ids"] = coll.collection_item_ids(desk.db, collection["id"])
    back = request.headers.get("referer") if action == "add" else None
    return done(request, result, back or f"/collections/{collection['id']}")


def change_collection(db, name, action, form):
    result = {}
    if action == "add":
        ids = [int(i) for i in form.getlist("ids") for i in str(i).split(",") if i.strip()]
        added, already = coll.add_items(db, name, ids)
        result = {"added": added, "already": already}
    elif action == "remove":
        result = {"removed": coll.remove_items(db, name, [int(form.get("item_id"))])}
    elif action == "move":
        result = {"position": coll.move_item(db, name, int(form.get("item_id")), int(form.get("position")))}
    elif action == "note":
        coll.set_note(db, name, int(form.get("item_id")), form.get("note") or "")
    else:
        raise HTTPException(404)
    return result


async def collection_export(request):
    """A download in any of the CLI's formats (GET: it changes nothing)."""
    desk = request.app.state.desk
    collection = collection_by_id(desk.db, request.path_params["id"])
    fmt = request.path_params["fmt"]
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown format; choose from {', '.join(FORMATS)}")
    statuses = request.query_params.getlist("status") or None
    out = io.StringIO()
    export_items(desk.db, fmt, out=out, collection=collection["name"], statuses=statuses)
    filename = f"{slugify(collection['name']) or 'collection'}.{EXPORT_SUFFIX.get(fmt, fmt)}"
    return Response(out.getvalue().encode(), media_type=EXPORT_TYPES[fmt] + "; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


# --- people -------------------------------------------------------------------

async def people_page(request):
    desk = request.app.state.desk
    return render(request, "people.html", {"people": list(list_people(desk.db)),
                                           "matches": list(pending_matches(desk.db))})


async def person_page(request):
    desk = request.app.state.desk
    found = profile(desk.db, request.path_params["slug"])
    if found is None:
        raise HTTPException(404, "no such person")
    found["person"]["history"] = _loads(found["person"].get("history"), [])
    found["person"]["aliases"] = _loads(found["person"].get("aliases"), [])
    if found["role"]:
        found["role"] = {k: (_loads(v, v) if k in ("works_with", "responsibilities", "adjacent_roles") else v)
                         for k, v in found["role"].items()}
    for item in found["items"]:
        item["time"] = format_timestamp(item.get("start"))
    matches = [m for m in pending_matches(desk.db) if m["suggested_person"] == found["person"]["name"]]
    return render(request, "person.html", dict(found, matches=matches))


async def match_action(request):
    """Confirm (the label is that person, an alias from now on) or reject a suggested name match."""
    desk = request.app.state.desk
    form = await checked_form(request)
    episode_id, label = int(form.get("episode_id")), form.get("label")
    with desk.db.atomic():
        if request.path_params["action"] == "confirm":
            link_person(desk.db, label, form.get("person"), episode_id)
        elif request.path_params["action"] == "reject":
            reject_match(desk.db, episode_id, label)
        else:
            raise HTTPException(404)
    return done(request, {"ok": True}, request.headers.get("referer") or "/people")


# --- jobs -----------------------------------------------------------------------

async def jobs_page(request):
    db = request.app.state.desk.db
    runs = [dict(r, counts=_loads(r["counts"], {}), errors=_loads(r["errors"], []))
            for r in list_runs(db, limit=20)]
    return render(request, "jobs.html", {"feeds": list(status_by_feed(db)), "failures": list(failures(db)),
                                         "feed_failures": list(feed_failures(db)), "runs": runs})


async def jobs_retry(request):
    """Re-queue failed episodes. No job lock: it is one short transaction, like an
    editor's decision, so it works while a CLI job runs (which skips failed episodes)."""
    form = await checked_form(request)
    ids = [int(i) for i in form.getlist("episode_id") if str(i).strip()]
    db = request.app.state.desk.db
    with db.atomic():
        n = retry(db, ids or None)
    return done(request, {"requeued": n}, "/jobs")


# --- the app --------------------------------------------------------------------

def render(request, name, context):
    return request.app.state.templates.TemplateResponse(request, name, dict(context, csrf=request.app.state.csrf))


async def on_error(request, exc):
    """A PodpipeError (bad input) is one sentence: JSON for our script, a page otherwise."""
    if isinstance(exc, CsrfError):
        message, status = "this page is out of date or the request did not come from it: reload the page", 403
    elif isinstance(exc, HTTPException):
        message, status = exc.detail, exc.status_code
    else:
        message, status = str(exc), 400
    if wants_json(request):
        return JSONResponse({"error": message}, status)
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"message": message, "csrf": request.app.state.csrf}, status_code=status)


def query_with(params, **changes):
    merged = {k: v for k, v in dict(params, **changes).items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else ""


def create_app(db_path, *, host="127.0.0.1", token=None, base_dir="."):
    """The desk as an ASGI app over the database at db_path.

    host: the address we serve on (requests naming another host are refused);
    token: required on every request when given; base_dir: where relative
    audio paths start (the folder the pipeline ran in).
    """
    routes = [
        Route("/", lambda request: RedirectResponse("/queue", 302)),
        Route("/queue", queue_page),
        Route("/items/{id:int}", item_page),
        Route("/items/{id:int}/{action}", item_action, methods=["POST"]),
        Route("/audio/{id:int}", audio),
        Route("/search", search_page),
        Route("/collections", collections_page),
        Route("/collections", collection_create, methods=["POST"]),
        Route("/collections/{id:int}", collection_page),
        Route("/collections/{id:int}/export/{fmt}", collection_export),
        Route("/collections/{id:int}/{action}", collection_action, methods=["POST"]),
        Route("/people", people_page),
        Route("/people/{slug}", person_page),
        Route("/matches/{action}", match_action, methods=["POST"]),
        Route("/jobs", jobs_page),
        Route("/jobs/retry", jobs_retry, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={PodpipeError: on_error, CsrfError: on_error,
                                                       HTTPException: on_error})
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html
    templates.env.globals.update(query_with=query_with)
    templates.env.filters["hl"] = highlight
    app.state.templates = templates
    app.state.desk = Desk(db_path, base_dir)
    app.state.csrf = new_secret()
    hosts = {"127.0.0.1", "localhost", "[::1]", host.lower()}
    return Guard(app, hosts=hosts, token=token)


def highlight(snippet):
    """A search snippet with its match markers (control characters, never in text) as <mark>."""
    return Markup(str(escape(snippet or "")).replace("\x02", "<mark>").replace("\x03", "</mark>"))
