"""A lightly cleaned version of an item, beside the verbatim words.

Only removes: fillers ("um", "uh", "you know", "I mean", "like"), a lead-in
said before the point ("And", "So", "But", "I think that", "Because", "For
example,", "Now,", "The first thing is", "What that means is", ...), words said
twice in a row, and false starts cut off with a dash. Never paraphrases: every
word of the result was said, in the order it was said. Exports mark it as edited
for clarity.
"""
import re

# fillers said before any point ("so many", "so far" are not one)
_FILLERS = r"and|so(?! many| much| far| long)|but|or|well|yeah|yes|okay|ok|oh|um+|uh+|you know|i mean|like"
# Lead-ins are the editors' most common trim on the training episodes (labels/: an OK
# item's reason "trim 'Because'", "drop the lead-in 'What that means is'"). Words like
# "no", "now" or "first" go only when a comma ends them: "No product market fit is a
# death sentence" must keep its "No".
_LEAD = re.compile(
    r"^(?:(?:(?:" + _FILLERS + r"|look|listen|honestly|basically|because(?! of)|whereas|anyway|of course|in fact|"
    r"at the same time|in general|for example|for instance|by the way|that being said|having said that|"
    r"(?:i think|i guess|i feel like|i would say|i'd say)(?: that)?|"
    r"the (?:first|second|third|next|other|last|key|main) (?:one|thing|point|piece|lesson)(?: there| here)? is"
    r"(?: that)?|the (?:first|second) is|what (?:that|this) means is(?: that)?|the (?:point|thing) is(?: that)?|"
    r"my advice (?:would be|is)(?: that)?|what you (?:need|have|want) to do is)\b[,;:]?"
    r"|(?:no|now|see|then|first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|lastly|again|actually|obviously|"
    r"also|instead|therefore|ultimately),)\s+)+", re.I)
_FILLER_LEAD = re.compile(r"^(?:(?:" + _FILLERS + r")\b[,;:]?\s+)+", re.I)
_MIN_WORDS = 3  # a lead-in cut that leaves fewer words keeps only the fillers' cut
_INLINE = re.compile(r"(?:,\s*|\s+)\b(?:um+|uh+|you know|i mean)\b(?:\s*,)?(?=\s)", re.I)
_REPEAT = re.compile(r"\b(\w+(?:'\w+)?)(?:,?\s+\1\b)+", re.I)
_RESTART = re.compile(r"\b((?:[\w']+\s+){0,3}[\w']+)\s*[\u2014\u2013-]{1,2}\s+\1\b", re.I)
_FALSE_START = re.compile(r"\b\w+(?:'\w+)?\s*[\u2014\u2013-]{1,2}\s+(?=\w)")


def clean_text(text):
    """The words as said, minus fillers, repeats and false starts; first letter capitalised."""
    out = (text or "").strip()
    out = _INLINE.sub("", out)
    out = _RESTART.sub(lambda m: m.group(1), out)
    out = _FALSE_START.sub(lambda m: "" if m.group(0).strip(" -\u2014\u2013").lower() in _STARTS else m.group(0), out)
    # the lead-in before the repeats: "I think that that can" keeps its subject
    cut = _LEAD.sub("", out)
    out = cut if len(cut.split()) >= _MIN_WORDS else _FILLER_LEAD.sub("", out)
    out = _REPEAT.sub(lambda m: m.group(1), out)
    out = re.sub(r"\s{2,}", " ", out).strip()
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    return out[:1].upper() + out[1:] if out else out


# words a speaker restarts after ("I- I think", "we\u2014 we"): pronouns and short function words
_STARTS = {"i", "we", "you", "they", "it", "the", "a", "so", "and", "but", "he", "she", "that", "this", "my", "our"}
