"""Naming diarized voices: which one is the host, which the guest.

``pipeline.diarize`` says who spoke when as anonymous voices (SPEAKER_0,
SPEAKER_1, ...). Here each voice gets a person from what the feed and the
episode already say, each piece of evidence adding to a score for a
(voice, person) pair:

- voiceprint: the voice sounds like a host's voice print, kept per feed
  from earlier episodes (a host speaks in every episode);
- intro-cue: the voice says what hosts say ("welcome to the show", "my guest
  today is") or what guests say ("thanks for having me");
- name-said: the voice says a person's name, so it is probably not that
  person ("Corie, you studied physics"), unless it is "I'm Corie";
- questions: hosts ask, guests answer;
- talk-time: in an interview the guest talks most (weak).

The feed's podcast:person tags say who to expect. The best one-to-one
mapping wins; a voice's confidence is how much worse the best mapping that
names it differently scores. A voice below ``MIN_CONFIDENCE`` is "unknown"
rather than a guess. An editor's correction (``set_speaker``) is kept with
the voice's embedding and re-applied to the matching voice when diarization
runs again.
"""
import itertools
import json
import math
import re

try:
    import numpy as np
except ImportError:  # numpy comes with the diarize extra; diarize._import_extra says which one to install
    np = None

from .db import utcnow
from .errors import PodpipeError
from .people import save_person
from .queue import pending_episodes
from .text import slugify
from .transcripts import replace_segments, rewrite_files, segments_of, transcript_of

LABEL = "SPEAKER_{}"
UNKNOWN = "unknown"
MIN_CONFIDENCE = 0.6  # below this a voice is "unknown"
VOICEPRINT_MIN_CONFIDENCE = 0.8  # only voices named at least this surely teach a voice print
HOST_ROLES = {"host", "co-host", "cohost"}
GUEST_ROLES = {"guest"}

# Weights, in the units of a log-odds score: a margin of 3 is 95% confidence.
PRESENCE = 1.0  # the feed lists this person, so some voice is probably theirs
CUE_WEIGHT = 1.5
MAX_CUES = 2  # per voice and kind: a host saying "welcome" five times proves no more
NAME_SAID = 1.5
SELF_INTRO = 3.0
QUESTION_WEIGHT = 2.0
TALK_TIME = 0.125
VOICEPRINT_MIDPOINT = 0.80  # cosine similarity of resemblyzer voices: same speaker above, other below
VOICEPRINT_SLOPE = 20.0
VOICEPRINT_CAP = 4.0
EDIT_MATCH = 0.75  # a corrected voice follows the new voice at least this similar

HOST_CUES = [re.compile(p) for p in (
    r"\bwelcome (?:back )?to (?:the|our|this) (?:show|podcast|episode|program)\b",
    r"\bmy guests? (?:today |this week |on the show )?(?:is|are)\b",
    r"\b(?:joining|with) (?:me|us) (?:today|this week|now|on the show)\b",
    r"\b(?:i'm|i am|we're|we are) (?:joined|talking|speaking) (?:today )?(?:by|with)\b",
    r"\bthanks? (?:you )?(?:so much )?for (?:joining|coming on|being here|being on|taking the time)\b",
    r"(?:^|[.!?,]\s*)welcome(?:[.!,]| aboard| back\b)",  # "Hana, welcome."
    r"\bwhere can (?:people|listeners|folks|our listeners) (?:find|follow) you\b",
    r"\b(?:i'm|i am) your host\b",
)]
GUEST_CUES = [re.compile(p) for p in (
    r"\bthanks? (?:you )?(?:so much )?for (?:having|inviting) me\b",
    r"\b(?:great|good|happy|glad|excited|a pleasure|fun|nice) to be (?:here|on|back)\b",
)]
SELF_INTRO_RE = re.compile(r"\b(?:i'm|i am|my name is|i'm your host,?)\s+([a-z][\w'-]*)")
WORD = re.compile(r"[a-z][a-z'-]+")
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z'-]+")


# --- who to expect ----------------------------------------------------------------

def episode_speakers(db, episode_id):
    """The hosts and guests the feed lists for an episode: [{person_id, name, role}]."""
    people = {}
    for row in db.query("select p.id, p.name, ep.role from episode_people ep join people p on p.id = ep.person_id "
                        "where ep.episode_id = ? order by ep.rowid", [episode_id]):
        role = (row["role"] or "").strip().lower()
        kind = "host" if role in HOST_ROLES else "guest" if role in GUEST_ROLES else None
        if kind and row["id"] not in people:
            people[row["id"]] = {"person_id": row["id"], "name": row["name"], "role": kind}
    return list(people.values())


def speaker_count(people, max_speakers=None):
    """(n_speakers, min_speakers) for diarization: exact when the feed names guests,
    else estimated (with at least the hosts it names)."""
    known = len(people)
    if known and any(p["role"] == "guest" for p in people):
        return (min(known, max_speakers) if max_speakers else known), None
    return None, (min(known, max_speakers) if max_speakers else known) or None


# --- evidence -----------------------------------------------------------------------

def _name_tokens(name):
    return [t for t in WORD.findall((name or "").lower()) if len(t) >= 3]


def _similar(a, b):
    from rapidfuzz.fuzz import ratio
    return a == b or (len(a) >= 4 and ratio(a, b) >= 80)  # Whisper writes "Corey" for "Corie"


def _name_mentions(text, person):
    """(times the voice says the person's name, times it introduces itself as them).

    A first name, or a full name, counts one; a family name alone a half
    (Whisper sometimes drops a family name it heard earlier into other lines).
    """
    tokens = _name_tokens(person["name"])
    if not tokens:
        return 0.0, 0
    first, last = tokens[0], tokens[-1] if len(tokens) > 1 else None
    # names are capitalised in Whisper's text; lower-case "will" or "hope" is not a name
    words = [w.lower() for w in CAPITALISED.findall(text)]
    said, previous = 0.0, None
    for w in words:
        if _similar(w, first):
            said += 1
        elif last and _similar(w, last) and not (previous and _similar(previous, first)):
            said += 0.5
        previous = w
    selves = sum(1 for m in SELF_INTRO_RE.finditer(text.lower()) if _similar(m.group(1), first))
    return max(0.0, said - selves), selves


def _questions(text):
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]
    return sum(s.rstrip().endswith("?") for s in sentences) / len(sentences) if sentences else 0.0


def evidence(voices, people, voiceprints=None):
    """Scores {(label, person_id): {kind: score}} for every voice and person.

    voices: {label: {"text", "seconds", "embedding"}}; people: from
    ``episode_speakers``; voiceprints: {person_id: unit vector}.
    """
    voiceprints = voiceprints or {}
    scores = {(label, p["person_id"]): {} for label in voices for p in people}
    roles = {p["role"] for p in people}
    mentions = {(label, p["person_id"]): _name_mentions(v.get("text") or "", p)
                for label, v in voices.items() for p in people}
    for label, voice in voices.items():
        text = (voice.get("text") or "").lower()
        host_cues = min(MAX_CUES, sum(1 for c in HOST_CUES if c.search(text)))
        guest_cues = min(MAX_CUES, sum(1 for c in GUEST_CUES if c.search(text)))
        for p in people:
            s = scores[(label, p["person_id"])]
            cue = (host_cues - guest_cues) if p["role"] == "host" else (guest_cues - host_cues)
            if cue:
                s["intro-cue"] = CUE_WEIGHT * cue
            said, selves = mentions[(label, p["person_id"])]
            # the voice that says a name more than the others do is probably not that person
            others = [mentions[(o, p["person_id"])][0] for o in voices if o != label]
            more = said - (sum(others) / len(others) if others else 0.0)
            name_score = SELF_INTRO * min(selves, 1) - NAME_SAID * float(np.clip(more, -MAX_CUES, MAX_CUES))
            if name_score:
                s["name-said"] = name_score
            vp = voiceprints.get(p["person_id"])
            if vp is not None and voice.get("embedding") is not None:
                sim = float(np.dot(vp, voice["embedding"]))
                s["voiceprint"] = float(np.clip((sim - VOICEPRINT_MIDPOINT) * VOICEPRINT_SLOPE,
                                                -VOICEPRINT_CAP, VOICEPRINT_CAP))
    # questions and talk time compare the voices with each other
    if len(voices) >= 2 and roles == {"host", "guest"}:
        q = {label: _questions(v.get("text") or "") for label, v in voices.items()}
        loudest = max(voices, key=lambda label: voices[label].get("seconds") or 0)
        for label in voices:
            others = [q[o] for o in voices if o != label]
            lead = q[label] - sum(others) / len(others)
            for p in people:
                s = scores[(label, p["person_id"])]
                sign = 1 if p["role"] == "host" else -1
                if abs(lead) >= 0.1:
                    s["questions"] = sign * QUESTION_WEIGHT * lead
                s["talk-time"] = TALK_TIME * (-sign if label == loudest else sign)
    return scores


# --- the mapping --------------------------------------------------------------------

def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


MAX_MAPPINGS = 1_000_000


def _too_many(k, m):
    return math.perm(k + m, min(k, m)) > MAX_MAPPINGS


def _mappings(labels, pids):
    """Every one-to-one mapping of voices to people (or to nobody), each as a
    tuple of person ids (or None) in the order of labels, enumerated from
    the smaller side."""
    k, m = len(labels), len(pids)
    seen = set()
    if k <= m:
        for perm in itertools.permutations(pids + [None] * k, k):
            if perm not in seen:
                seen.add(perm)
                yield perm
    else:
        for perm in itertools.permutations(list(range(k)) + [None] * m, m):
            mapping = [None] * k
            for pid, i in zip(pids, perm):
                if i is not None:
                    mapping[i] = pid
            mapping = tuple(mapping)
            if mapping not in seen:
                seen.add(mapping)
                yield mapping


def name_voices(voices, people, voiceprints=None, fixed=None):
    """Who each voice is: {label: {person_id, name, confidence, method}}.

    ``fixed`` maps labels to an editor's choice ({person_id, name}), which is
    kept as it is. Every other voice gets the person of the best one-to-one
    mapping, or None (unknown) when its confidence is under MIN_CONFIDENCE.
    """
    fixed = fixed or {}
    result = {label: {**choice, "confidence": 1.0, "method": "editor"} for label, choice in fixed.items()}
    taken = {c.get("person_id") for c in fixed.values() if c.get("person_id")}
    free_people = [p for p in people if p["person_id"] not in taken]
    labels = [label for label in voices if label not in fixed]
    while free_people and _too_many(len(labels), len(free_people)):
        free_people = free_people[:-1]  # a huge panel: the last listed stay unnamed
    # every voice, fixed ones too, takes part in the comparisons (who asks, who talks most)
    scores = evidence(voices, free_people, voiceprints)
    total = {key: PRESENCE + sum(kinds.values()) for key, kinds in scores.items()}
    if not labels:
        return result
    mappings = {m: sum(total[(label, pid)] for label, pid in zip(labels, m) if pid is not None)
                for m in _mappings(labels, [p["person_id"] for p in free_people])}
    best = max(mappings, key=lambda m: (mappings[m], [x is not None for x in m]))
    names = {p["person_id"]: p["name"] for p in free_people}
    for i, label in enumerate(labels):
        pid = best[i]
        rival = max((score for m, score in mappings.items() if m[i] != pid), default=None)
        margin = mappings[best] - rival if rival is not None else 10.0
        confidence = round(_sigmoid(margin), 3)
        if pid is None or confidence < MIN_CONFIDENCE:
            result[label] = {"person_id": None, "name": None, "confidence": confidence, "method": "diarize"}
            continue
        kinds = scores[(label, pid)]
        # name the evidence that favoured this person over the next best choice for this voice
        others = [scores[(label, o)] for o in names if o != pid]
        why = [k for k, v in kinds.items() if v > max([o.get(k, 0) for o in others] + [0]) + 1e-9]
        result[label] = {"person_id": pid, "name": names[pid], "confidence": confidence,
                         "method": "+".join(why) if why else "feed-roles"}
    return result


# --- voice prints -------------------------------------------------------------------

def _blob(vector):
    return np.asarray(vector, dtype="<f4").tobytes() if vector is not None else None


def _vector(blob):
    return np.frombuffer(blob, dtype="<f4").astype(np.float64) if blob else None


def _unit(v):
    n = np.linalg.norm(v)
    return v / n if n else v


def _print_sources(db, feed_id, person_id=None, exclude_episode=None):
    """speaker_labels rows that may teach a host's voice print in a feed."""
    sql = ("select sl.episode_id, sl.person_id, sl.seconds, sl.embedding from speaker_labels sl "
           "join episodes e on e.id = sl.episode_id "
           "join episode_people ep on ep.episode_id = sl.episode_id and ep.person_id = sl.person_id "
           f"where e.feed_id = ? and lower(ep.role) in ({','.join('?' * len(HOST_ROLES))}) "
           "and sl.embedding is not null and (sl.edited = 1 or sl.confidence >= ?)")
    params = [feed_id, *sorted(HOST_ROLES), VOICEPRINT_MIN_CONFIDENCE]
    if person_id is not None:
        sql += " and sl.person_id = ?"
        params.append(person_id)
    if exclude_episode is not None:
        sql += " and sl.episode_id != ?"
        params.append(exclude_episode)
    return list(db.query(sql, params))


def _mean_print(rows):
    weights = np.array([max(r["seconds"] or 0.0, 1.0) for r in rows])
    return _unit(np.sum([w * _vector(r["embedding"]) for w, r in zip(weights, rows)], axis=0))


def update_voiceprints(db, feed_id, model):
    """Recompute the feed's host voice prints from its named voices."""
    by_person = {}
    for row in _print_sources(db, feed_id):
        by_person.setdefault(row["person_id"], []).append(row)
    with db.atomic():
        db.execute("delete from voiceprints where feed_id = ?", [feed_id])
        for person_id, rows in by_person.items():
            db["voiceprints"].insert({
                "feed_id": feed_id, "person_id": person_id, "embedding": _blob(_mean_print(rows)),
                "model": model, "episodes": json.dumps(sorted({r["episode_id"] for r in rows})),
                "seconds": round(sum(r["seconds"] or 0 for r in rows), 3), "updated": utcnow()})


def voiceprints_for(db, episode, people, model):
    """{person_id: voice print} for the episode's hosts, learnt from the feed's
    other episodes (never from this one, which would only echo itself)."""
    prints = {}
    for p in people:
        if p["role"] != "host":
            continue
        row = db.execute("select embedding, model, episodes from voiceprints where feed_id = ? and person_id = ?",
                         [episode["feed_id"], p["person_id"]]).fetchone()
        if not row or row[1] != model:
            continue
        if episode["id"] in json.loads(row[2] or "[]"):
            rows = _print_sources(db, episode["feed_id"], p["person_id"], exclude_episode=episode["id"])
            if rows:
                prints[p["person_id"]] = _mean_print(rows)
        else:
            prints[p["person_id"]] = _unit(_vector(row[0]))
    return prints


# --- an episode, end to end ----------------------------------------------------------

def _corrections(db, episode_id, centroids):
    """The editor's earlier choices, moved onto this run's voices: {label: {person_id, name}}.

    Labels can come out in another order after a new transcript, so a
    correction follows the voice whose embedding is nearest to the one the
    editor named, and falls back to the same label when it has none.
    """
    edited = list(db.query("select label, person_id, name, embedding from speaker_labels "
                           "where episode_id = ? and edited = 1", [episode_id]))
    fixed, pairs = {}, []
    for row in edited:
        old = _vector(row["embedding"])
        for label, c in centroids.items():
            sim = float(np.dot(_unit(old), c)) if old is not None and c is not None else (
                1.0 if label == row["label"] else -1.0)
            pairs.append((sim, row["label"], label, row))
    used_old = set()
    for sim, old_label, label, row in sorted(pairs, key=lambda p: -p[0]):
        if sim < EDIT_MATCH or old_label in used_old or label in fixed:
            continue
        fixed[label] = {"person_id": row["person_id"], "name": row["name"]}
        used_old.add(old_label)
    return fixed


def diarize_options(db, episode, max_speakers=None):
    """The arguments of ``diarize.diarize_audio`` for an episode: how many voices
    to look for, from the hosts and guests the feed lists."""
    from .diarize import MAX_SPEAKERS

    n_speakers, min_speakers = speaker_count(episode_speakers(db, episode["id"]), max_speakers)
    return {"n_speakers": n_speakers, "min_speakers": min_speakers, "max_speakers": max_speakers or MAX_SPEAKERS}


def attribute(db, episode, segments, audio, *, max_speakers=None):
    """Diarize an episode's audio and name its voices.

    segments: Whisper segments (with words for splitting at speaker changes);
    audio: 16 kHz mono float32 samples. Returns (segments with speaker,
    speaker_confidence, speaker_method and speaker_label; speaker_labels rows).
    """
    from . import diarize

    result = diarize.diarize_audio(audio, **diarize_options(db, episode, max_speakers))
    return name_speakers(db, episode, segments, result)


def name_speakers(db, episode, segments, result):
    """Put a ``diarize.Diarization`` of the episode's audio on its segments and
    name the voices from what the database knows (the feed's people, voice
    prints, editors' corrections). Returns (segments, speaker_labels rows) as
    ``attribute`` does; cheap next to the diarization itself."""
    from . import diarize

    people = episode_speakers(db, episode["id"])
    assigned = diarize.assign_speakers(segments, result.turns)
    labels = {i: LABEL.format(i) for i in range(result.n_speakers)}
    voices = {name: {"text": "", "seconds": result.seconds.get(i, 0.0), "embedding": result.centroids[i]}
              for i, name in labels.items()}
    for seg in assigned:
        if seg["speaker_label"] is not None:
            voices[labels[seg["speaker_label"]]]["text"] += " " + seg["text"]
    model = diarize.model_name()
    fixed = _corrections(db, episode["id"], {k: v["embedding"] for k, v in voices.items()})
    named = name_voices(voices, people, voiceprints_for(db, episode, people, model), fixed)

    out = []
    for seg in assigned:
        label = labels.get(seg.pop("speaker_label"))
        purity = seg.pop("speaker_purity")
        who = named.get(label)
        if who is None:
            out.append({**seg, "speaker": None, "speaker_confidence": None, "speaker_method": None,
                        "speaker_label": None})
            continue
        out.append({**seg, "speaker": who["name"] or UNKNOWN, "speaker_label": label,
                    "speaker_confidence": round(who["confidence"] * purity, 3), "speaker_method": who["method"]})
    rows = [{"episode_id": episode["id"], "label": label, "person_id": who["person_id"], "name": who["name"],
             "confidence": who["confidence"], "method": who["method"], "seconds": voices[label]["seconds"],
             "embedding": _blob(voices[label]["embedding"]), "edited": int(label in fixed), "updated": utcnow()}
            for label, who in sorted(named.items())]
    return out, rows


def save_labels(db, episode, rows):
    """Replace an episode's speaker_labels rows and refresh its feed's voice prints."""
    from .diarize import model_name

    with db.atomic():
        db.execute("delete from speaker_labels where episode_id = ?", [episode["id"]])
        if rows:
            db["speaker_labels"].insert_all(rows)
        update_voiceprints(db, episode["feed_id"], model_name())


# --- already transcribed episodes ---------------------------------------------------------

def pending_diarizations(db, *, episode_ids=None, force=False, limit=None, since=None, max_attempts=3):
    """Episodes with a Whisper transcript and audio whose voices are not yet named:
    ``pending_episodes`` rows with the transcript's id, path, model and engine."""
    named = "" if force else (" and not exists (select 1 from segments s where s.transcript_id = t.id "
                              "and s.speaker_label is not null)")
    return pending_episodes(db, "t.source = 'whisper' and e.audio_path is not null" + named,
                            joins="join transcripts t on t.episode_id = e.id",
                            columns=", t.id as transcript_id, t.path as transcript_path, "
                                    "t.model as transcript_model, t.engine as transcript_engine",
                            episode_ids=episode_ids, limit=limit, since=since, max_attempts=max_attempts)


def diarize_job(db, episode, *, max_speakers=None):
    """Everything ``run_diarize`` needs for one episode, as plain data (no database)."""
    from .cluster import audio_source

    return {"episode_id": episode["id"], "audio": audio_source(episode),
            "options": diarize_options(db, episode, max_speakers)}


def run_diarize(job):
    """Who spoke when in one episode's audio: a ``diarize_job`` in, a
    ``diarize.Diarization`` out, here or on a cluster worker. Raises AudioError."""
    from . import diarize
    from .asr import load_audio
    from .cluster import local_audio

    with local_audio(job["audio"]) as path:
        audio = load_audio(path)
    return diarize.diarize_audio(audio, **job["options"])


def save_diarization(db, episode, result):
    """Name the voices of a ``run_diarize`` result on the episode's stored Whisper
    transcript, in place: segments replaced (a change of speaker splits one),
    the transcript keeps its id, its files are rewritten. Returns the
    speaker_labels rows."""
    segments = [{**r, "words": json.loads(r["words"]) if r["words"] else None}
                for r in segments_of(db, episode["transcript_id"], "start, end, text, words")]
    named, rows = name_speakers(db, episode, segments, result)
    with db.atomic():
        save_labels(db, episode, rows)
        replace_segments(db, episode["transcript_id"], named)
        # the speakers changed: extraction runs again (keeping editors' decisions)
        db["episodes"].update(episode["id"], {"status": "transcribed", "updated": utcnow()})
    rewrite_files({"path": episode.get("transcript_path")}, named)
    return rows


def diarize_episode(db, episode, *, max_speakers=None):
    """Diarize one episode here (a row of ``pending_diarizations``); returns the speaker_labels rows."""
    return save_diarization(db, episode, run_diarize(diarize_job(db, episode, max_speakers=max_speakers)))


# --- showing and correcting -------------------------------------------------------------

class SpeakerError(PodpipeError, ValueError):
    """A correction that cannot be applied; one line for the user."""


def _transcript(db, episode_id):
    row = transcript_of(db, episode_id)
    if not row:
        raise SpeakerError(f"episode {episode_id} has no transcript (run 'podpipe transcribe')")
    return row


def speaker_summary(db, episode_id):
    """One row per voice: label, name, confidence, method, seconds and a sample line."""
    transcript = _transcript(db, episode_id)
    labels = {r["label"]: r for r in db.query("select * from speaker_labels where episode_id = ?", [episode_id])}
    groups = {}
    for seg in db.query("select start, end, text, speaker, speaker_label, speaker_confidence, speaker_method "
                        "from segments where transcript_id = ? order by idx", [transcript["id"]]):
        key = (seg["speaker_label"] or "", seg["speaker"] if not seg["speaker_label"] else "")
        g = groups.setdefault(key, {"seconds": 0.0, "sample": None, "first": seg})
        if seg["start"] is not None and seg["end"] is not None:
            g["seconds"] += seg["end"] - seg["start"]
        if g["sample"] is None and len(seg["text"].split()) >= 6:
            g["sample"] = seg["text"]
    rows = []
    for (label, _), g in groups.items():
        first, row = g["first"], labels.get(label)
        rows.append({
            "label": label or None,
            "name": (row["name"] if row else first["speaker"]) or (UNKNOWN if label else None),
            "confidence": row["confidence"] if row else first["speaker_confidence"],
            "method": row["method"] if row else first["speaker_method"] or transcript["source"],
            "seconds": round(g["seconds"], 1),
            "sample": g["sample"] or first["text"],
        })
    return rows


def set_speaker(db, episode_id, label, name):
    """An editor's correction: voice ``label`` of the episode is ``name`` (or "unknown").

    Stored with the voice's embedding so that it survives re-runs; segments,
    transcript files and the feed's voice prints are updated now.
    """
    from .diarize import model_name

    transcript = _transcript(db, episode_id)
    row = db.execute("select 1 from speaker_labels where episode_id = ? and label = ?", [episode_id, label]).fetchone()
    if not row:
        known = [r[0] for r in db.execute("select label from speaker_labels where episode_id = ? order by label",
                                          [episode_id])]
        if not known:
            raise SpeakerError(f"episode {episode_id} has no diarized speakers "
                               f"(run 'podpipe diarize --episode {episode_id}')")
        raise SpeakerError(f"episode {episode_id} has no speaker {label}; its speakers are {', '.join(known)}")
    name = " ".join((name or "").split())
    if not name:
        raise SpeakerError(f"give a name for {label}, e.g. {label}=\"Corie Miller\", or {label}=unknown")
    unknown = name.lower() == UNKNOWN
    episode = db["episodes"].get(episode_id)
    with db.atomic():
        person_id = None
        if not unknown:
            existing = db.execute("select id, name from people where slug = ?", [slugify(name)]).fetchone()
            person_id, name = existing if existing else (save_person(db, {"name": name}), name)
        db["speaker_labels"].update((episode_id, label), {
            "person_id": person_id, "name": None if unknown else name, "confidence": 1.0, "method": "editor",
            "edited": 1, "updated": utcnow()})
        db.execute("update segments set speaker = ?, speaker_confidence = 1.0, speaker_method = 'editor' "
                   "where transcript_id = ? and speaker_label = ?", [UNKNOWN if unknown else name,
                                                                     transcript["id"], label])
        update_voiceprints(db, episode["feed_id"], model_name())
    if transcript["path"]:
        rewrite_files(transcript, segments_of(db, transcript["id"]))
