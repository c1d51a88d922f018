"""The role taxonomy (pipeline/roles.yaml) and the rules that file a person
under a role from their title, their past titles, or what a description says.

The taxonomy is data an editor extends: roles in order, each with regular
expressions for titles and for descriptions. ``classify`` is pure;
``save_roles`` loads the taxonomy into the ``roles`` table.
"""
import json
import re
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import PodpipeError

__all__ = ["UNKNOWN", "load_taxonomy", "classify", "save_roles"]

TAXONOMY_PATH = Path(__file__).with_name("roles.yaml")
UNKNOWN = "Unknown"
UNKNOWN_DEFINITION = "Nobody has said what this person does yet: an editor can set the role."


class TaxonomyError(PodpipeError, ValueError):
    """A roles file that cannot be used."""


@lru_cache(maxsize=8)
def load_taxonomy(path=TAXONOMY_PATH):
    """The roles of a taxonomy file, in order, with their patterns compiled."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"cannot read the role taxonomy {path}: {exc}") from None
    roles = []
    for n, role in enumerate((data or {}).get("roles") or [], 1):
        if not isinstance(role, dict) or not role.get("name"):
            raise TaxonomyError(f"{path}: role {n} has no name")
        try:
            titles = [re.compile(p, re.I) for p in role.get("titles") or []]
            cues = [re.compile(p, re.I) for p in role.get("cues") or []]
        except re.error as exc:
            raise TaxonomyError(f"{path}: role {role['name']!r}: bad pattern: {exc}") from None
        roles.append({**role, "titles": titles, "cues": cues})
    return tuple(roles)


def _first(roles, key, text):
    for role in roles:
        for pattern in role[key]:
            if pattern.search(text):
                return role["name"], pattern.pattern
    return None


def classify(title=None, history=(), sentences=(), taxonomy=TAXONOMY_PATH):
    """The role for a person: (role name, why). The current title decides; else
    the most recent past title; else a cue in what the description says about
    them; else UNKNOWN."""
    roles = load_taxonomy(taxonomy)
    if title:
        found = _first(roles, "titles", title)
        if found:
            return found[0], f"title {title!r} ~ /{found[1]}/"
    for past in history:
        found = _first(roles, "titles", past)
        if found:
            return found[0], f"past title {past!r} ~ /{found[1]}/"
    found = _first(roles, "cues", " ".join(sentences))  # the role's order decides, not the sentence's
    if found:
        return found[0], f"description ~ /{found[1]}/"
    return UNKNOWN, "no title and no cue"


def _row(role):
    row = {"name": role["name"], "definition": role.get("definition")}
    for key in ("works_with", "responsibilities", "adjacent_roles"):
        row[key] = json.dumps(role[key]) if role.get(key) else None
    return row


def save_roles(db, taxonomy=TAXONOMY_PATH):
    """Load the taxonomy into ``roles``: new roles are added, and empty fields of
    existing ones filled; what a role page or an editor set stays. Returns the
    number of roles added."""
    added = 0
    roles = list(load_taxonomy(taxonomy)) + [{"name": UNKNOWN, "definition": UNKNOWN_DEFINITION}]
    for role in roles:
        row = _row(role)
        existing = db.execute("select * from roles where lower(name) = lower(?)", [role["name"]]).fetchone()
        if existing is None:
            db["roles"].insert(row)
            added += 1
            continue
        current = dict(zip([d[0] for d in db.execute("select * from roles limit 0").description], existing))
        missing = {k: v for k, v in row.items() if v and not current.get(k)}
        if missing:
            db["roles"].update(current["id"], missing)
    return added
