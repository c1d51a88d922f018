"""Near-duplicate items: the same line said twice, in one episode (a cold open
repeats a line said later) or in two (a guest repeats it on another show).

Items whose vectors are at least ``THRESHOLD`` alike form a group in
``near_duplicates``; the group's id is its representative's item id: the
approved one if any, else the one with the highest extractor score, else the
earliest. Exports leave out the other members (``DUPLICATE_FILTER``), and
``podpipe items show`` and the desk show the group.
"""
from .vectors import nearest, vector_of

THRESHOLD = 0.9  # all-MiniLM-L6-v2 cosine: rewordings of one line score above it, different lines below
NEIGHBOURS = 8

# An item is left out when another item of its group is the representative and
# is not rejected; rejecting the representative brings the others back.
DUPLICATE_FILTER = """i.id not in (
  select d.item_id from near_duplicates d join items rep on rep.id = d.group_id
  where d.group_id != d.item_id and coalesce(rep.status, 'pending') != 'rejected')"""


def group_duplicates(db, item_ids):
    """Put each of these items in a group with its near-duplicates; returns
    the number of groups these items are now in."""
    joined = set()
    for item_id in item_ids:
        vector = vector_of(db, "item", item_id)
        if vector is None:
            continue
        similar = [(other, score) for other, score in nearest(db, "item", vector, NEIGHBOURS, exclude={item_id})
                   if score >= THRESHOLD]
        if not similar:
            continue
        members = {item_id: 1.0, **dict(similar)}
        groups = {r[0] for r in db.execute(
            f"select group_id from near_duplicates where item_id in ({','.join('?' * len(members))})", list(members))}
        for group in groups:  # joining two groups makes one
            members.update({r[0]: r[1] for r in db.execute(
                "select item_id, similarity from near_duplicates where group_id = ?", [group]) if r[0] not in members})
        joined.add(_save_group(db, members))
    # a later item may have merged an earlier one's group into its own
    return db.execute(f"select count(distinct group_id) from near_duplicates where group_id in "
                      f"({','.join('?' * len(joined))})", list(joined)).fetchone()[0] if joined else 0


def _save_group(db, members):
    rep = db.execute(
        f"select id from items where id in ({','.join('?' * len(members))}) order by status = 'approved' desc, "
        f"status = 'rejected', score desc nulls last, id limit 1", list(members)).fetchone()[0]
    with db.atomic():
        for item_id, similarity in members.items():
            db.execute("insert or replace into near_duplicates (item_id, group_id, similarity) values (?, ?, ?)",
                       [item_id, rep, round(similarity, 4)])
    return rep


def group_of(db, item_id):
    """The items of an item's near-duplicate group (itself included), representative first; [] if none."""
    row = db.execute("select group_id from near_duplicates where item_id = ?", [item_id]).fetchone()
    if not row:
        return []
    return [dict(zip(("id", "representative", "similarity", "episode_id", "speaker", "text"), r)) for r in db.execute(
        "select i.id, i.id = d.group_id, d.similarity, i.episode_id, i.speaker, coalesce(i.edited_text, i.text) "
        "from near_duplicates d join items i on i.id = d.item_id where d.group_id = ? "
        "order by i.id != d.group_id, i.id", [row[0]])]
