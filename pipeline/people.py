"""People (hosts, guests, profile subjects) and the roles they hold."""
import json

from .text import slugify


def save_person(db, person):
    """Insert a person by name if new, filling empty fields of an existing one.

    Returns the person's id. Names are matched by slug, so "Corie Miller" and
    "corie  miller" are the same person.
    """
    slug = slugify(person["name"])
    row = db.execute("select id from people where slug = ?", [slug]).fetchone()
    fields = {k: (json.dumps(v) if isinstance(v, (list, dict)) else v)
              for k, v in person.items() if v not in (None, "", [])}
    if row is None:
        return db["people"].insert({**fields, "slug": slug}).last_pk
    current = next(db.query("select * from people where id = ?", [row[0]]))
    missing = {k: v for k, v in fields.items() if not current.get(k)}
    if missing:
        db["people"].update(row[0], missing)
    return row[0]


def add_alias(db, person_id, alias):
    """Keep another way of writing a person's name ("KUNAL SHAH", "Lenny")."""
    person = next(db.query("select name, aliases from people where id = ?", [person_id]))
    aliases = json.loads(person["aliases"] or "[]")
    if alias and alias != person["name"] and alias not in aliases:
        db["people"].update(person_id, {"aliases": json.dumps(aliases + [alias])})
