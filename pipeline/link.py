"""The link stage: the speakers of transcribed episodes to people (exact,
alias or fuzzy name matches; uncertain ones wait for an editor in
person_matches), guests' titles from episode descriptions, and items to the
people who said them."""
import re

from .db import utcnow
from .profiles import match_person, normalise, person_names, role_for_title


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


# "Corie Miller is Product Manager at X" or "Corie Miller, Product Manager at X"
INTRO = re.compile(r"^(?P<name>[^.,]+?)(?:,| is) (?:an? |the )?(?P<title>[^.,]+?) (?:at|for|of) (?P<org>[^,.]+)")


def fill_from_description(db, episode):
    """Feeds often say who the guest is ("Corie Miller is Product Manager at X",
    "Corie Miller, Product Manager at X, on ..."): fill a guest's empty title,
    organization and role from that."""
    for person in db.query("select p.* from episode_people ep join people p on p.id = ep.person_id "
                           "where ep.episode_id = ? and ep.role = 'guest'", [episode["id"]]):
        if person["role_id"] and person["title"]:
            continue
        for sentence in re.split(r"(?<=\.)\s+", episode["description"] or ""):
            m = INTRO.match(sentence.strip())
            if m and normalise(m["name"]) == normalise(person["name"]):
                from .role_pages import normalize_role_name

                fields = {"title": person["title"] or m["title"].strip(),
                          "organization": person["organization"] or m["org"].strip()}
                fields["role_id"] = person["role_id"] or role_for_title(db, normalize_role_name(fields["title"]))
                db["people"].update(person["id"], fields)
                break


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
    for episode in list(db.query(sql, params)):
        with db.atomic():
            fill_from_description(db, episode)
            linked = link_episode(db, episode["id"])
            for label, pid in linked.items():
                cursor = db.execute("update items set person_id = ? where episode_id = ? and speaker = ? "
                                    "and (person_id is null or person_id != ?)", [pid, episode["id"], label, pid])
                counts["items_linked"] += cursor.rowcount
        counts["episodes"] += 1
    counts["suggestions"] = db.execute("select count(*) from person_matches where status = 'pending'").fetchone()[0]
    return counts
