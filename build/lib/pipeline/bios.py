"""What an episode description says about a guest: title, organization and
what it does, past positions, location, education and a verbatim background.

Podcast descriptions introduce a guest in one or two sentences ("Eeke de
Milliano is the Head of Product at Retool and a former product lead at
Stripe."). We read only the sentences about the guest (their name, then He /
She / They), find "TITLE at ORG" phrases in them, and cut each at its end. A
phrase we cannot read cleanly is dropped: an empty field is better than a
wrong one. Nothing here touches the database.
"""
import re

from .role_pages import parse_bio, split_location

__all__ = ["describe_guest", "guest_sentences", "positions", "tidy_title"]

# A title names a job: one of these words must be in it.
_HEAD = re.compile(
    r"\b(?:chief|officer|ceo|cto|coo|cpo|cmo|cfo|cro|(?:co-?)?founder|head|vp|svp|evp|vice president|president"
    r"|director|manager|pm|lead|partner|gm|general manager|engineer|designer|author|advisor|adviser|investor"
    r"|scientist|researcher|analyst|consultant|coach|principal|writer|speaker|professor|editor|host|owner"
    r"|chair(?:man|woman|person)?|(?:product|design|engineering|growth|marketing|sales|data|research) leader)\b",
    re.I)
# Words that make a phrase a clause rather than a title.
_NOT_TITLE = re.compile(r"\b(?:who|which|that|where|has|have|had|is|was|were|helped|used|shaped|spent|"
                        r"one of|known|with|over|more than|most|years?|in|to)\b|[\d$%\"“”]|\.\.\.|…", re.I)
_PAST = r"(?:was|were|previously|formerly|former|ex-|left|prior to|before|spent|earlier)"
_NOW = r"(?:is|are|currently|now|serves as|works as|’s|'s)"
_SMALL = {"of", "and", "the", "for", "at", "in", "on", "a", "an", "to"}
_KEEP_CASE = re.compile(r"^(?:[A-Z]{2,}|[A-Z][a-z]*[A-Z]\w*)$")  # CEO, VP, GM, LaunchDarkly


def _first_paragraph(description):
    for para in re.split(r"\n\s*\n", description or ""):
        para = " ".join(para.split())
        if para and not para.startswith(("*", "#", "•", "-")):
            return para
    return ""


def _sentences(paragraph):
    # not at "$1M." or "vs." inside a sentence: a sentence starts with a capital, a quote or a digit
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"‘'0-9])", paragraph) if s.strip()]


def _name_pattern(name):
    parts = [re.escape(p) for p in name.split()]
    alts = [r"\s+".join(parts)]
    if len(parts) > 1:
        alts += [parts[0], parts[-1]]
    return re.compile(rf"\b(?:{'|'.join(alts)})(?:’s|'s)?\b", re.I)


def guest_sentences(description, name):
    """The sentences of a description's first paragraph about this guest, verbatim.

    We start at the first sentence that names the guest in full (archives do
    carry another episode's description, which never does); later ones count when they
    name the guest or start with a pronoun. A truncated last sentence ("...")
    is left out.
    """
    sentences = _sentences(_first_paragraph(description))
    full = re.compile(r"\b" + r"\s+".join(re.escape(p) for p in name.split()) + r"\b", re.I)
    first = next((i for i, s in enumerate(sentences) if full.search(s)), None)
    if first is None:
        return []
    sentences = sentences[first:]
    named = _name_pattern(name)
    about = []
    for i, sentence in enumerate(sentences):
        subject = sentence.split(",")[0] if i else sentence
        if i == 0 or named.search(sentence[:60]) or re.match(r"(?:He|She|They|His|Her|Their)\b", sentence) \
                or (re.match(r"(?:Prior to|Before|After|During|Today|Previously|Currently)\b", sentence)
                    and re.search(r",\s+(?:he|she|they)\b", sentence)) or named.search(subject):
            about.append(sentence)
            if sentence.endswith(("...", "…")):
                break
        elif about:
            break
    return about


def tidy_title(title):
    """ "chief product officer" -> "Chief Product Officer"; "VP of product" -> "VP of Product"."""
    words = title.split()
    out = []
    for i, word in enumerate(words):
        if _KEEP_CASE.match(word):
            out.append(word)
        elif i and word.lower() in _SMALL:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:].lower())
    return " ".join(out)


def _org_at(text):
    """The organization name at the start of text, and where it ends: capitalised
    words ("Silicon Valley Product Group"), digits ("N26"), a lowercase first
    word before a capitalised one ("dbt Labs"); cut at a lowercase word, comma,
    dash or bracket."""
    tokens = list(re.finditer(r"[^\s,;:—–()]+", text))
    end, words = 0, []
    for n, tok in enumerate(tokens):
        if text[end:tok.start()].strip():  # punctuation between words ends the name
            break
        word = tok.group().rstrip(".")
        proper = bool(re.match(r"[A-Z0-9#&]|[a-z]+[A-Z]", word)) or (  # "mParticle"
            n == 0 and n + 1 < len(tokens) and re.match(r"[A-Z]", tokens[1].group()) and word.isalpha())
        joiner = word.lower() in ("of", "de", "&", "the") and words and n + 1 < len(tokens) \
            and re.match(r"[A-Z0-9]", tokens[n + 1].group())
        if not (proper or joiner) or (word in _SMALL and not joiner):
            break
        words.append(word)
        end = tok.start() + len(word)
        if tok.group().endswith(".") and not re.fullmatch(r"(?:[A-Z]\.)+|Inc\.|Co\.", tok.group()):
            break  # the sentence ends here
    return (" ".join(words), end) if words else (None, 0)


def _org_description(text):
    """ ", a data transformation company, and ..." -> "a data transformation company"."""
    m = re.match(r"\s*(?:,|—|–| - )\s*((?:a|an|the|one of)\s.+)", text)
    if not m:
        return None
    desc = re.split(r"\s*(?:—|–|, where|, who|, and (?:a|an|the|is|was|has)\b|; )", m.group(1))[0]
    desc = desc.rstrip(" .,")
    return desc if len(desc.split()) >= 2 else None


def _clean_title(text):
    """A title phrase, or None when it is not one."""
    text = re.split(r"\b(?:is|are|was|were|left|as)\s", text)[-1]  # drop the subject: "Nan Yu is ..."
    text = re.sub(rf"^(?:(?:and|also|{_NOW}|{_PAST}|his|her|their|position as|the|a|an|longtime|"
                  r"recently|both)\s+)+", "", text.strip(" ,"), flags=re.I)
    text = re.sub(r"\s+(?:who|which|that|where|with)\b.*$", "", text)
    if not text or not _HEAD.search(text) or _NOT_TITLE.search(text) or len(text.split()) > 8:
        return None
    if re.fullmatch(r"(?:\w+\s+)?leader", text, re.I) and not re.search(
            r"product|design|engineering|growth|marketing|sales|data|research", text, re.I):
        return None
    return tidy_title(text)


def _tense(before):
    """Past or present, by the last tense word before a phrase in its sentence."""
    past = [m.end() for m in re.finditer(rf"\b{_PAST}\b|\bex-", before, re.I)]
    now = [m.end() for m in re.finditer(rf"\b{_NOW}\b", before, re.I)]
    return "past" if past and (not now or past[-1] > now[-1]) else "current"


_ONE_OF = re.compile(r"\bone of (?:the|our|my)\b.*?(?=\band (?:the|a|an)\b|[,.]|$)", re.I)
# a title followed by its organization: "head of product at Linear", "CEO of CRED", "author of BOOK"
_AT = [re.compile(rf"\s(?:{words})\s(?=[A-Z0-9#]|[a-z]+[A-Z]|[a-z]+\s[A-Z])") for words in ("at", "of|for|with")]


def positions(sentence):
    """Every (title, organization, tense, organization description) a sentence
    states, in order. Titles without an organization ("an author, speaker, and
    advisor") come with organization None."""
    sentence = _ONE_OF.sub(" ", sentence)  # "one of the most admired product leaders" is praise, not a title
    found = []
    # clauses: cut at commas and at "and" before a new phrase, never inside "CEO and founder"
    bounds = re.compile(r"\s*(?:,\s*(?:and\s+)?|;\s*|\s—\s*|\band (?=(?:the|a|an|was|is|previously|former|"
                        r"co-?founded|sits|has|he|she|they)\b)|\bwhere\b|\bwho\b|\bwhich\b)", re.I)
    start = 0
    clauses = []
    for m in list(bounds.finditer(sentence)) + [None]:
        end = m.start() if m else len(sentence)
        clauses.append((start, sentence[start:end]))
        if m:
            start = m.end()
    skip_until = -1
    for cstart, clause in clauses:
        if cstart < skip_until:
            continue
        at = _AT[0].search(clause) or _AT[1].search(clause)  # "Head of Growth at X": the org follows "at"
        if at:
            title = _clean_title(clause[:at.start()])
            rest = sentence[cstart + at.end():]
            org, org_end = _org_at(rest)
            if title and org:
                if title.lower() == "author":
                    org = None  # "author of Dynamic Reteaming": a book, not an employer
                desc = _org_description(rest[org_end:]) if org else None
                found.append({"title": title, "organization": org, "tense": _tense(sentence[:cstart + at.start()]),
                              "organization_description": desc})
                skip_until = cstart + at.end() + org_end
                continue
        title = _clean_title(clause)
        if title and not at:
            found.append({"title": title, "organization": None, "tense": _tense(sentence[:cstart]),
                          "organization_description": None})
    return _join_list_titles(found, sentence)


def _join_list_titles(found, sentence):
    # "an author, speaker, and advisor": one title, as written
    m = re.search(r"\b(?:is|are) (?:a|an|the) ((?:\w+, )+(?:and |& )?\w+)\b", sentence)
    if m and all(_HEAD.search(w) for w in re.split(r",\s*(?:and |& )?", m.group(1))):
        listed = tidy_title(m.group(1))
        found = [f for f in found if f["organization"] or f["title"].lower() not in listed.lower()]
        found.insert(0, {"title": listed, "organization": None, "tense": "current", "organization_description": None})
    return found


def _share_organization(found):
    # "the chief product officer and former longtime COO at Rippling": both at Rippling
    for a, b in zip(found, found[1:]):
        if not a["organization"] and b["organization"] and a["tense"] == "current" and b["tense"] == "past":
            a["organization"] = b["organization"]
            a["organization_description"] = b["organization_description"]
    return found


def describe_guest(description, name):
    """What the description says about this guest.

    Returns {"title", "organization", "organization_description", "location",
    "education", "background", "positions", "sentences"}; "positions" lists
    every (title, organization, tense) found, current ones first as written.
    """
    sentences = guest_sentences(description, name)
    found = []
    for sentence in sentences:
        found += _share_organization(positions(sentence))
    current = [p for p in found if p["tense"] == "current"]
    main = current[0] if current else None
    desc, location = split_location(main["organization_description"]) if main else (None, None)
    facts = parse_bio(" ".join(sentences))
    return {
        "title": main["title"] if main else None,
        "organization": main["organization"] if main else None,
        "organization_description": desc,
        "location": location or None,
        "education": facts["education"],
        "background": " ".join(s for s in sentences if not s.endswith(("...", "…"))) or None,
        "positions": found,
        "sentences": sentences,
    }
