"""Tips and quotes from interview transcripts.

The extractor reads a transcript's segments, makes candidate spans of one to
three sentences of a guest's turn (``sentences``), describes each by sentence
embeddings and the hand-written rules (``model``, ``rules``), scores it with a
trained head per kind whose output is a calibrated probability, and keeps the
best non-overlapping, non-repeated ones (``selection``). ``clean`` gives the
lightly edited version beside the verbatim words. ``extractor="rules"`` (or a
machine without the encoder) uses the rules alone, as rules-3 did.
"""
import logging

from . import rules
from .clean import clean_text
from .model import features, load_model, predict, sentence_embeddings
from .rules import (MIN_PER_KIND, TOPICS, classify_sentence, episode_proper_nouns, max_items,  # noqa: F401
                    split_sentences, topics_for)
from .selection import select, span_embeddings
from .sentences import candidates, guest_speakers, sentence_rows

__all__ = ["EXTRACTORS", "EXTRACTOR_VERSION", "MIN_PER_KIND", "TOPICS", "classify", "classify_sentence",
           "clean_text", "episode_proper_nouns", "extract_items", "extractor_version", "max_items",
           "split_sentences", "topics_for"]
log = logging.getLogger(__name__)
EXTRACTORS = ("model", "rules")
# The model keeps about one item of each kind per 3 1/3 minutes (the rules: 5).
# On the training episodes one per five found 67% of the editors' top picks
# among the items, and items were cut by the cap, not by the threshold; half as
# many again (43 items an episode instead of 32) found 76%, twice as many 82%.
# Chosen on the training episodes, as the smallest that finds three in four.
MODEL_MINUTES_PER_ITEM = 10 / 3


def extractor_version(extractor="model"):
    """The version stored with each item: the model's, or the rules' when they run alone."""
    if extractor == "model" and _model_ready():
        return load_model()["version"]
    return rules.EXTRACTOR_VERSION


EXTRACTOR_VERSION = rules.EXTRACTOR_VERSION  # the rules' version; see extractor_version()


def _model_ready():
    if load_model() is None:
        return False
    from .. import encoder
    if not encoder.available():
        log.info("event=extractor fallback=rules reason=%r", encoder.MISSING_EXTRA)
        return False
    return True


def score_candidates(rows, cands):
    """Calibrated probabilities per kind for each candidate, and the sentence embeddings."""
    # only the sentences a candidate or its context uses: the host's lines cost nothing
    emb = sentence_embeddings(rows, cands)
    names = episode_proper_nouns(r["text"] for r in rows)
    return predict(load_model(), features(cands, rows, emb, names), [c["text"] for c in cands]), emb


def extract_items(segments, hosts, cap=True, extractor="model"):
    """Tips and quotes said by guests in a time-ordered list of segments.

    segments: dicts with id, start, end, text, speaker. hosts: names of the show's
    hosts (their lines are never candidates; when none of them speaks, the
    speaker who asks most questions is the host). cap: keep at most
    ``max_items(duration)`` of each kind (an int sets the number; False keeps all
    above the threshold). Returns item dicts in time order: kind, text,
    clean_text, speaker, start, end, segment_ids, score (a calibrated probability
    with the model), features, topics.
    """
    if extractor == "rules" or not _model_ready():
        items = rules.extract_items(segments, hosts, cap=cap)
        return [dict(item, clean_text=clean_text(item["text"])) for item in items]
    model = load_model()
    rows = sentence_rows(segments)
    cands = candidates(rows, guest_speakers(rows, hosts))
    if not cands:
        return []
    probs, emb = score_candidates(rows, cands)
    limit = max_items(rules._duration(segments), MODEL_MINUTES_PER_ITEM) if cap is True else (cap or None)
    thresholds = {kind: model[kind]["threshold"] for kind in ("tip", "quote")}
    items = []
    for p, k, kind in select(cands, probs, thresholds, span_embeddings(cands, emb), rows, limit):
        c = cands[k]
        why = rules.rule_scores(c["text"], None, None)[f"{kind}_features"]
        items.append({"kind": kind, "text": c["text"], "clean_text": clean_text(c["text"]),
                      "speaker": c["speaker"], "start": c["start"], "end": c["end"],
                      "segment_ids": c["segment_ids"], "score": round(p, 4),
                      "features": [f"model:{model['version']}"] + [f"{kind}:{f}" for f in why],
                      "topics": topics_for(c["text"])})
    return items


def classify(text, context=None, extractor="model"):
    """`podpipe classify`: kind and calibrated score of one text, with optional context.

    context: the speaker's preceding sentences, as one string. Returns {"kind",
    "score", "tip", "quote"}; kind is "none" below the kind's threshold.
    """
    if extractor == "rules" or not _model_ready():
        verdict = classify_sentence(text, context={"prev": context} if context else None)
        return {"kind": verdict["kind"], "score": verdict["score"]}
    model = load_model()
    before = split_sentences(context or "")
    segments = [{"id": 0, "start": None, "end": None, "text": " ".join(before + [text]), "speaker": "guest"}]
    rows = sentence_rows(segments)
    n = len(split_sentences(text))
    cands = [{"i": len(rows) - n, "j": len(rows), "speaker": "guest", "text": text, "context": context or "",
              "start": None, "end": None, "segment_ids": [0], "turn_start": not before, "turn_end": True}]
    probs, _ = score_candidates(rows, cands)
    tip, quote = float(probs["tip"][0]), float(probs["quote"][0])
    kind = "tip" if tip >= quote else "quote"
    score = max(tip, quote)
    return {"kind": kind if score >= model[kind]["threshold"] else "none", "score": round(score, 4),
            "tip": round(tip, 4), "quote": round(quote, 4)}
