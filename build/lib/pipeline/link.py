"""The link stage: the speakers of transcribed episodes to people (exact,
alias or fuzzy name matches; uncertain ones wait for an editor in
person_matches), guests' titles, organizations and roles from episode descriptions, and items to the
people who said them."""
import json

from .bios import describe_guest
from .db import utcnow
from .profiles import match_person, person_names
from .taxonomy import UNKNOWN, classify, save_roles


def link_episode(db, episode_id):
    """Link the speaker labels of an episode's transcript to people.

    Returns {label: person_id} for the labels we are sure of; uncertain
    matches go to person_matches for an editor to confirm.
    """
    labels = [r[0] for r in db.execute(
        "select distinct s.speaker from segments s join transcripts t on t.id = s.transcript_id "
        "where t.episode_id = ? and s.speaker is not null", [episode_id])]
    candidates = person_names(db)
    linked = {}
    for label in labels:
        confirmed = db.execute("select person_id from person_matches where episode_id = ? and label = ? "
                               "and status = 'confirmed'", [episode_id, label]).fetchone()
        if confirmed:
            linked[label] = confirmed[0]
            continue
        match = match_person(db, label, candidates)
        if match is None:
            continue
        pid, score, method = match
        if method == "suggested":
            db["person_matches"].insert({"episode_id": episode_id, "label": label, "person_id": pid,
                                         "score": score, "method": "fuzzy", "status": "pending",
                                         "created": utcnow()}, ignore=True)
        else:
            linked[label] = pid
    return linked


PROFILE_FIELDS = ("title", "organization", "organization_description", "location", "education", "background")


def _history(person, facts, episode_id):
    history = json.loads(person["history"] or "[]")
    seen = {(h["title"], h["organization"]) for h in history}
    for p in facts["positions"]:
        if (p["title"], p["organization"]) not in seen:
            history.append({"title": p["title"], "organization": p["organization"], "tense": p["tense"],
                            "episode_id": episode_id})
    return history


def fill_from_description(db, episode, role_ids):
    """What the description says about each guest ("Eeke de Milliano is the Head
    of Product at Retool and a former product lead at Stripe"): fill their empty
    profile fields, keep every title as history, and file them under a role
    (or Unknown). What an editor or a profile page set is never replaced."""
    for person in list(db.query("select p.* from episode_people ep join people p on p.id = ep.person_id "
                                "where ep.episode_id = ? and ep.role = 'guest'", [episode["id"]])):
        facts = describe_guest(episode["description"], person["name"])
        fields = {k: facts[k] for k in PROFILE_FIELDS if facts[k] and not person[k]}
        history = _history(person, facts, episode["id"])
        if history:
            fields["history"] = json.dumps(history)
        if person["role_id"] in (None, role_ids[UNKNOWN]):
            past = [h["title"] for h in reversed(history) if h["tense"] == "past"]
            role, _why = classify(person["title"] or facts["title"], past, facts["sentences"])
            fields["role_id"] = role_ids.get(role, role_ids[UNKNOWN])
        fields = {k: v for k, v in fields.items() if v != person[k]}
        if fields:
            db["people"].update(person["id"], fields)


def link(db, episode_ids=None, *, since=None):
    """The link stage: speakers of every transcribed episode (published on or
    after ``since``) to people, and items to the people who said them. Returns counts.

    Linking is cheap and a new person or alias can change any episode's
    links, so every transcribed episode is linked again each time.
    """
    sql = "select e.id, e.description from episodes e join transcripts t on t.episode_id = e.id where 1"
    params = []
    if episode_ids:
        sql += f" and e.id in ({','.join('?' * len(episode_ids))})"
        params = list(episode_ids)
    if since:
        sql += " and e.published >= ?"
        params.append(str(since))
    counts = {"episodes": 0, "items_linked": 0, "suggestions": 0}
    with db.atomic():
        save_roles(db)
    role_ids = {r["name"]: r["id"] for r in db.query("select id, name from roles")}
    with db.atomic():
        # a host is a podcast's host: that is a role (Author, in the taxonomy) though no description says more
        db.execute("update people set role_id = ? where (role_id is null or role_id = ?) and id in "
                   "(select person_id from episode_people where role = 'host')",
                   [role_ids[classify("Podcast host")[0]], role_ids[UNKNOWN]])
    for episode in list(db.query(sql, params)):
        with db.atomic():
            fill_from_description(db, episode, role_ids)
            linked = link_episode(db, episode["id"])
            for label, pid in linked.items():
                cursor = db.execute("update items set person_id = ? where episode_id = ? and speaker = ? "
                                    "and (person_id is null or person_id != ?)", [pid, episode["id"], label, pid])
                counts["items_linked"] += cursor.rowcount
        counts["episodes"] += 1
    counts["suggestions"] = db.execute("select count(*) from person_matches where status = 'pending'").fetchone()[0]
    return counts


def pending_matches(db):
    """Uncertain speaker-to-person matches waiting for an editor."""
    return db.query("select m.episode_id, m.label, p.name as suggested_person, m.score "
                    "from person_matches m join people p on p.id = m.person_id "
                    "where m.status = 'pending' order by m.episode_id, m.label")


def reject_match(db, episode_id, label):
    """An editor's decision: this label in this episode is not the suggested person.

    The match stays, marked rejected, so the next link does not suggest it again.
    Returns how many matches changed."""
    return db.execute("update person_matches set status = 'rejected' where episode_id = ? and label = ? "
                      "and status = 'pending'", [int(episode_id), label]).rowcount
