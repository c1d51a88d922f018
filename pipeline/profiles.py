"""Role profiles: importing roles and people (with their quotes and tips) from
role pages and profile files, and linking speaker names to people."""
import hashlib
import json
import re
from pathlib import Path

from rapidfuzz import fuzz, process

from .db import utcnow
from .errors import PodpipeError
from .people import save_person
from .role_pages import parse_profiles, parse_role_page
from .text import slugify

FUZZY_ACCEPT = 95  # rapidfuzz token_sort_ratio at or above: linked
FUZZY_SUGGEST = 80  # between SUGGEST and ACCEPT: listed for an editor, never applied
PERSON_FIELDS = ("name", "title", "organization", "organization_description", "location", "education",
                 "background")


class ProfileError(PodpipeError):
    """A profile file that could not be read; one line for the user."""


def normalise(text):
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", (text or "").lower().replace("’", "'"))).strip()


def dedup_key(scope, text):
    """The same sentence in the same place is one item, however often extracted."""
    return hashlib.sha1(f"{scope}|{normalise(text)}".encode()).hexdigest()


def save_role(db, role):
    """Insert or update a role by name; returns its id."""
    row = {"name": role["name"], "definition": role.get("definition"),
           "works_with": json.dumps(role.get("works_with") or []) if role.get("works_with") else None,
           "responsibilities": json.dumps(role.get("responsibilities") or []) if role.get("responsibilities") else None,
           "adjacent_roles": json.dumps(role.get("adjacent_roles") or []) if role.get("adjacent_roles") else None}
    existing = db.execute("select id from roles where name = ?", [role["name"]]).fetchone()
    if existing:
        db["roles"].update(existing[0], {k: v for k, v in row.items() if v})
        return existing[0]
    return db["roles"].insert(row).last_pk


def role_id_for(db, name):
    if not name:
        return None
    row = db.execute("select id from roles where lower(name) = lower(?)", [name]).fetchone()
    return row[0] if row else save_role(db, {"name": name})


def save_profile_item(db, person_id, slug, kind, text):
    """A quote or tip from a profile page, stored once."""
    key = dedup_key(f"profile:{slug}", text)
    db["items"].insert({"kind": kind, "text": text, "person_id": person_id, "source": "profile page",
                        "status": "pending", "dedup_key": key, "topics": "[]",
                        "created": utcnow(), "updated": utcnow()}, ignore=True)


def import_profiles(db, path):
    """Import a role page (Markdown or text) or a profiles file (YAML or JSON).

    Returns {"roles": n, "people": n, "items": n}.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml", ".json"):
            parsed = parse_profiles(text)
        else:
            parsed = parse_role_page(text)
    except ValueError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    if not parsed.get("people") and not parsed.get("roles"):
        raise ProfileError(f"{path}: no role or people found")
    before = db["items"].count
    with db.atomic():
        for role in parsed.get("roles") or []:
            save_role(db, role)
        for person in parsed.get("people") or []:
            fields = {k: person.get(k) for k in PERSON_FIELDS}
            fields["role_id"] = role_id_for(db, person.get("role") or (parsed.get("role") or {}).get("name"))
            person_id = save_person(db, fields)
            # a profile is the authority on a person: its fields win over what feeds said
            db["people"].update(person_id, {k: v for k, v in fields.items() if v})
            slug = db["people"].get(person_id)["slug"]
            for kind, key in (("quote", "quotes"), ("tip", "tips")):
                for line in person.get(key) or []:
                    save_profile_item(db, person_id, slug, kind, line)
    return {"roles": len(parsed.get("roles") or []), "people": len(parsed.get("people") or []),
            "items": db["items"].count - before}


# --- linking names to people ---------------------------------------------------

def person_names(db):
    """{name or alias: person_id} for every person."""
    names = {}
    for row in db.query("select id, name, aliases from people"):
        names[row["name"]] = row["id"]
        for alias in json.loads(row["aliases"] or "[]"):
            names[alias] = row["id"]
    return names


def match_person(db, label, candidates=None):
    """Match a speaker label to a person: (person_id, score, method) or None.

    Exact name or alias first, then fuzzy. A fuzzy match below FUZZY_ACCEPT
    comes back with method "suggested": callers must not apply it.
    """
    if not label:
        return None
    candidates = candidates if candidates is not None else person_names(db)
    wanted = normalise(label)
    for name, pid in candidates.items():
        if normalise(name) == wanted:
            return pid, 100.0, "exact"
    if not candidates:
        return None
    best = process.extractOne(wanted, {n: normalise(n) for n in candidates}, scorer=fuzz.token_sort_ratio)
    if best is None:
        return None
    _, score, name = best
    score = round(float(score), 1)
    if score >= FUZZY_ACCEPT:
        return candidates[name], float(score), "fuzzy"
    if score >= FUZZY_SUGGEST:
        return candidates[name], float(score), "suggested"
    return None


def link_person(db, label, person_name, episode_id=None):
    """An editor's decision: this label is this person (an alias from now on)."""
    person = db.execute("select id, aliases from people where slug = ?", [slugify(person_name)]).fetchone()
    if not person:
        raise ProfileError(f"no person named {person_name!r} (see 'podpipe profiles list')")
    pid, aliases = person[0], json.loads(person[1] or "[]")
    with db.atomic():
        if label not in aliases and normalise(label) != normalise(person_name):
            db["people"].update(pid, {"aliases": json.dumps(aliases + [label])})
        if episode_id is not None:
            db.execute("delete from person_matches where episode_id = ? and label = ?", [episode_id, label])
            db["person_matches"].insert({"episode_id": episode_id, "label": label, "person_id": pid,
                                         "score": 100.0, "method": "editor", "status": "confirmed",
                                         "created": utcnow()})
        else:
            db.execute("update person_matches set status = 'confirmed' where label = ? and person_id = ?",
                       [label, pid])
        db.execute("update items set person_id = ? where person_id is null and speaker = ?", [pid, label])
    return pid


def merge_people(db, keep_name, other_name):
    """Fold one person into another: their items, episodes and names move over."""
    keep = db.execute("select id, aliases from people where slug = ?", [slugify(keep_name)]).fetchone()
    other = db.execute("select id, name, aliases from people where slug = ?", [slugify(other_name)]).fetchone()
    if not keep or not other:
        raise ProfileError(f"no person named {(other_name if keep else keep_name)!r}")
    if keep[0] == other[0]:
        raise ProfileError("those are the same person")
    aliases = json.loads(keep[1] or "[]") + [other[1]] + json.loads(other[2] or "[]")
    with db.atomic():
        db.execute("update items set person_id = ? where person_id = ?", [keep[0], other[0]])
        db.execute("update or ignore episode_people set person_id = ? where person_id = ?", [keep[0], other[0]])
        db.execute("delete from episode_people where person_id = ?", [other[0]])
        db.execute("update person_matches set person_id = ? where person_id = ?", [keep[0], other[0]])
        db["people"].update(keep[0], {"aliases": json.dumps(sorted(set(aliases)))})
        db.execute("delete from people where id = ?", [other[0]])
    return keep[0]


def profile(db, name, *, per_kind=None):
    """A person's profile with role and items (the best ``per_kind`` quotes and tips), or None."""
    row = db.execute("select id from people where slug = ?", [slugify(name)]).fetchone()
    if not row:
        match = match_person(db, name)
        if not match or match[2] == "suggested":
            return None
        row = (match[0],)
    person = db["people"].get(row[0])
    role = db["roles"].get(person["role_id"]) if person["role_id"] else None
    items = list(db.query(
        "select i.id, i.kind, coalesce(i.edited_text, i.text) as text, i.source, i.status, i.start, "
        "e.title as episode_title, e.published, e.link as episode_link, e.enclosure_url "
        "from items i left join episodes e on e.id = i.episode_id where i.person_id = ? "
        # the best first: a profile page's, then approved ones, then by the extractor's score
        "and i.status != 'rejected' order by i.source = 'profile page' desc, i.status = 'approved' desc, "
        "i.score desc, e.published, i.start, i.id", [row[0]]))
    if per_kind:
        items = [i for i in items if i["kind"] == "quote"][:per_kind] + [i for i in items if i["kind"] == "tip"][:per_kind]
    episodes = list(db.query("select e.id, e.title, e.published, ep.role from episode_people ep "
                             "join episodes e on e.id = ep.episode_id where ep.person_id = ? "
                             "order by e.published", [row[0]]))
    return {"person": person, "role": role, "items": items, "episodes": episodes}


def list_people(db):
    """People with their role and how many items and episodes they have."""
    return db.query(
        "select p.id, p.name, p.title, p.organization, r.name as role, "
        "(select count(*) from items i where i.person_id = p.id) as items, "
        "(select count(*) from episode_people ep where ep.person_id = p.id) as episodes "
        "from people p left join roles r on r.id = p.role_id order by p.name")
