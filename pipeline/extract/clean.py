"""A lightly cleaned version of an item, beside the verbatim words.

Only removes: fillers ("um", "uh", "you know", "I mean", "like," and "I think" at
the start), a leading "And", "So" or "But", words said twice in a row, and false
starts cut off with a dash. Never paraphrases: every word of the result was said,
in the order it was said. Exports mark it as edited for clarity.
"""
import re

_LEAD = re.compile(r"^(?:(?:and|so|but|or|well|yeah|yes|okay|ok|oh|um+|uh+|you know|i mean|look|listen|"
                   r"honestly|basically|i think|like)\b[,;:]?\s+)+", re.I)
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
    out = _REPEAT.sub(lambda m: m.group(1), out)
    out = _LEAD.sub("", out)
    out = re.sub(r"\s{2,}", " ", out).strip()
    out = re.sub(r"\s+([,.;:!?])", r"\1", out)
    return out[:1].upper() + out[1:] if out else out


# words a speaker restarts after ("I- I think", "we\u2014 we"): pronouns and short function words
_STARTS = {"i", "we", "you", "they", "it", "the", "a", "so", "and", "but", "he", "she", "that", "this", "my", "our"}
