"""Sentences, turns, hosts and candidate spans: what the extractor looks at.

A transcript's segments become one row per sentence (speaker, text, times, the
segment it came from, its turn). A *candidate* is one to ``MAX_SPAN`` consecutive
sentences of one guest turn, with the speaker's preceding sentences of that turn
as its context, so that a quote can carry its own setup and a fragment can be
recognised as one.
"""

from .rules import UNNAMED_SPEAKER, _sentences_of, mark_sponsor_reads

MAX_SPAN = 3
MAX_SPAN_WORDS = 90
MIN_WORDS = 5        # "Wait.", "Go watch it." are never items
CONTEXT_SENTENCES = 2


def sentence_rows(segments):
    """One dict per sentence: speaker, text, start, end, segment_id, turn, ad.

    A turn is a run of sentences by one speaker. ``ad`` marks sponsor reads: from
    an opening phrase to the call to action, within one speaker's run.
    """
    rows, turn, last = [], -1, object()
    for seg in segments:
        speaker = seg.get("speaker")
        for text, t0, t1 in _sentences_of(seg):
            if speaker != last:
                turn, last = turn + 1, speaker
            rows.append({"speaker": speaker, "text": text, "start": t0, "end": t1,
                         "segment_id": seg.get("id"), "turn": turn})
    mark_sponsor_reads(rows)
    return rows


def questioner(rows):
    """The speaker who asks most of the questions (the host of an interview), or None.

    Counted per turn that ends in a question, so a guest's rhetorical questions
    inside long answers weigh little.
    """
    asks, turns = {}, {}
    for i, row in enumerate(rows):
        sp = row["speaker"]
        if not sp:
            continue
        last_of_turn = i + 1 == len(rows) or rows[i + 1]["turn"] != row["turn"]
        if last_of_turn:
            turns[sp] = turns.get(sp, 0) + 1
            if row["text"].rstrip(" \"')\u201d").endswith("?"):
                asks[sp] = asks.get(sp, 0) + 1
    if len(turns) < 2 or not asks:
        return None
    best = max(asks, key=lambda sp: (asks[sp], -list(turns).index(sp)))
    return best if asks[best] >= 3 else None


def guest_speakers(rows, hosts):
    """Speakers whose lines are candidates: named, not a host, not an unnamed voice.

    hosts: names known to host the show (from the feed); when none of them speaks
    here, the speaker who asks most questions is taken as the host.
    """
    hosts = {h.strip().lower() for h in hosts or () if h}
    speakers = []
    for row in rows:
        sp = row["speaker"]
        if sp and sp not in speakers:
            speakers.append(sp)
    if not any(sp.strip().lower() in hosts for sp in speakers):
        asker = questioner(rows)
        if asker:
            hosts.add(asker.strip().lower())
    return {sp for sp in speakers
            if sp.strip().lower() not in hosts and not UNNAMED_SPEAKER.match(sp.strip())}


def _words(text):
    return len(text.split())


def candidates(rows, guests):
    """Candidate spans: dicts with i, j (rows[i:j]), speaker, text, context, start, end, segment_ids."""
    out = []
    for i, row in enumerate(rows):
        if row["speaker"] not in guests or row["ad"]:
            continue
        context = []
        k = i - 1
        while k >= 0 and rows[k]["turn"] == row["turn"] and len(context) < CONTEXT_SENTENCES:
            context.insert(0, rows[k]["text"])
            k -= 1
        for j in range(i + 1, min(i + MAX_SPAN, len(rows)) + 1):
            span = rows[i:j]
            if span[-1]["turn"] != row["turn"] or span[-1]["ad"]:
                break
            text = " ".join(r["text"] for r in span)
            n = _words(text)
            if n > MAX_SPAN_WORDS:
                break
            if n < MIN_WORDS:
                continue
            ids = []
            for r in span:
                if r["segment_id"] not in ids:
                    ids.append(r["segment_id"])
            out.append({"i": i, "j": j, "speaker": row["speaker"], "text": text, "context": " ".join(context),
                        "start": row["start"], "end": span[-1]["end"], "segment_ids": ids,
                        "turn_start": i == 0 or rows[i - 1]["turn"] != row["turn"],
                        "turn_end": j == len(rows) or rows[j]["turn"] != row["turn"]})
    return out
