"""People's names as feeds and transcripts write them, resolved to one name per human.

Guest fields hold several people ("A + B", "A & B", "Hamel+Shreya") and
episode markers ("Elena Verna 2.0"); speaker labels come in capitals ("KUNAL
SHAH"), as first names ("Lenny"), or as placeholders ("Speaker 1"). These
functions are pure: they decide from the names they are given, and say how
sure they are, so that the link stage merges only what is certain and asks an
editor about the rest.
"""
import re
import unicodedata

__all__ = ["split_guests", "clean_name", "is_placeholder", "fold", "first_name", "expand_first_names",
           "resolve", "speaker_roles"]

_EPISODE_MARKER = re.compile(r"\s+(?:\d+(?:\.\d+)*|\(\d+\)|part\s+\d+|pt\.?\s*\d+|ii|iii|iv|returns|live)$", re.I)
_PLACEHOLDER = re.compile(r"^(?:speaker|spk|unknown|host|guest|interviewer|voice|person)[\s_-]*\d*$", re.I)
HOST_SHARE = 0.2  # a speaker with at least this share of an episode's turns is part of the conversation


def fold(name):
    """A name for comparing: no accents, no case, no punctuation, single spaces."""
    name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^\w\s]", " ", name.lower()).split())


def first_name(name):
    parts = fold(name).split()
    return parts[0] if parts else ""


def clean_name(name):
    """ "KUNAL SHAH" -> "Kunal Shah"; "Elena Verna 2.0" -> "Elena Verna"; spaces tidied."""
    name = " ".join((name or "").split()).strip(" ,;:-")
    name = _EPISODE_MARKER.sub("", name)
    letters = [c for c in name if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 3:
        name = " ".join(_capitalise(w) for w in name.split())
    return name


def _capitalise(word):
    word = "-".join(p[:1].upper() + p[1:].lower() for p in word.split("-"))
    # McCabe, O'Brien
    return re.sub(r"^(Mc|O')(\w)", lambda m: m.group(1) + m.group(2).upper(), word)


def is_placeholder(label):
    """ "Speaker 1", "SPEAKER_2", "Unknown": a label, not a name."""
    return bool(_PLACEHOLDER.match((label or "").strip()))


def split_guests(field):
    """The people named in a guest field, cleaned: "A + B", "A & B", "A and B",
    "A, B", "Hamel+Shreya" (first names: see expand_first_names)."""
    parts = re.split(r"\s*(?:\+|&|,|;|/)\s*|\s+and\s+|\s+with\s+", str(field or ""))
    names = []
    for part in parts:
        name = clean_name(part)
        if name and not is_placeholder(name) and fold(name) not in {fold(n) for n in names}:
            names.append(name)
    return names


def expand_first_names(names, known):
    """Replace a first name alone ("Hamel") by the one full name in ``known`` that
    starts with it ("Hamel Husain"); left as it is when none or several do."""
    out = []
    for name in names:
        if len(fold(name).split()) == 1:
            full = {k for k in known if len(fold(k).split()) > 1 and first_name(k) == fold(name)}
            if len(full) == 1:
                name = full.pop()
        out.append(name)
    return out


def resolve(label, people):
    """Which of ``people`` (the names known in this episode or feed) a speaker
    label is: (name, how) or None.

    how is "exact" (same name, any case or accent), "first name" (the label is
    the first name of exactly one of them), or "fuller" (the label is a fuller
    name of someone known by first name only: the label is the better name).
    """
    wanted = fold(clean_name(label))
    if not wanted:
        return None
    for name in people:
        if fold(name) == wanted:
            return name, "exact"
    if len(wanted.split()) == 1:
        matches = [n for n in people if first_name(n) == wanted]
        if len(matches) == 1:
            return matches[0], "first name"
        return None
    matches = [n for n in people if len(fold(n).split()) == 1 and fold(n) == wanted.split()[0]]
    if len(matches) == 1:
        return matches[0], "fuller"
    return None


def speaker_roles(turns, guests, hosts=()):
    """Who each speaker label of an episode is: {label: ("guest"|"host"|"other", name)}.

    ``turns`` counts each label's turns; ``guests`` are the episode's guests and
    ``hosts`` the feed's known hosts. A label resolves to a guest, then to a
    host; a speaker with a real share of the conversation is a new host; the
    rest (a sponsor's read, a clip, "Speaker 1") is "other" and names nobody.
    """
    total = sum(turns.values()) or 1
    out = {}
    for label, count in turns.items():
        if is_placeholder(label):
            out[label] = ("other", None)
            continue
        guest = resolve(label, guests)
        host = resolve(label, hosts)
        if guest:
            out[label] = ("guest", guest[0] if guest[1] != "fuller" else clean_name(label))
        elif host:
            out[label] = ("host", host[0] if host[1] != "fuller" else clean_name(label))
        elif guests and count / total >= HOST_SHARE:
            out[label] = ("host", clean_name(label))
        else:
            out[label] = ("other", None)
    return out
