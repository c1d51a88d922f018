"""The trained extractor: sentence embeddings plus rule features, two small
logistic heads, and calibration so that a score is a probability.

The heads are factored: one says whether an editor could use the span at all
(``usable``: the rubric's GOOD or OK), the other which kind it is if so
(``tip_share``: advice rather than opinion). P(usable as a tip) is their
product, and P(usable as a quote) the usable head times the rest. What makes a
line usable (it stands alone, says something general) is the same for both
kinds, so both kinds' labels teach the usable head; on the training episodes
this ranked better than one head per kind (scripts/train_extractor.py).

Features of a candidate span (see ``features``): the mean embedding of its
sentences, the mean embedding of the speaker's preceding sentences in the turn
(its context), their product, the rule scores and which rules fired on the span
and on its first sentence, and a few shape facts (length, sentences, where it
sits in the turn). The weights live in ``model.json`` beside this file, written
by ``scripts/train_extractor.py``; nothing downloads at run time.

The reranker: the heads' best candidates of an episode are read again by the
encoder fine-tuned with low-rank adapters (``finetune.py``; adapters and head
in ``reranker.npz``, merged into the encoder's graph at first use), whose
logit, stacked with the usable head's, replaces the usable probability. On
the training folds it told usable from not far better than the frozen
vectors (AUC 0.80 against 0.71); it runs only on the top candidates because
it reads every span whole, not sentence by sentence.
"""
import functools
import json
import math
from pathlib import Path

import numpy as np

from .rules import QUOTE_WEIGHTS, TIP_WEIGHTS, rule_scores
from .sentences import CONTEXT_SENTENCES

MODEL_PATH = Path(__file__).with_name("model.json")
RERANKER_PATH = Path(__file__).with_name("reranker.npz")  # the fine-tuned encoder's adapters and head
RERANK_TOP = 150  # candidates per episode the reranker scores again
KINDS = ("tip", "quote")
HEADS = ("usable", "tip_share")
ENCODER_QUANTIZED = True
ENCODER_BATCH = 16
RULE_NAMES = [f"tip:{k}" for k in sorted(TIP_WEIGHTS)] + [f"quote:{k}" for k in sorted(QUOTE_WEIGHTS)]
SHAPE_NAMES = ["rule_tip", "rule_quote", "rule_tip_first", "rule_quote_first", "words_log", "sentences_2",
               "sentences_3", "turn_start", "turn_end", "has_context", "question", "short"]


def _logit(p):
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _rule_vector(scores, prefix_weight=1.0):
    fired = set("tip:" + f for f in scores["tip_features"]) | set("quote:" + f for f in scores["quote_features"])
    return [prefix_weight if name in fired else 0.0 for name in RULE_NAMES]


def encode(texts):
    """Sentence vectors from the extractor's encoder: the int8 graph, about twice
    as fast as fp32 (the heads are trained on its vectors). Small batches pad
    less; the batch size is fixed because int8 activations are scaled per batch,
    so training and run time must batch alike."""
    from ..encoder import get_encoder
    return get_encoder(quantized=ENCODER_QUANTIZED).encode(texts, batch_size=ENCODER_BATCH)


def encoder_version():
    """What the features' vectors come from, e.g. "all-MiniLM-L6-v2 (0.1.0-g1-int8)"."""
    from ..encoder import MODEL_NAME, version
    return f"{MODEL_NAME} ({version(ENCODER_QUANTIZED)})"


def encoded_rows(rows, cands):
    """The rows whose vectors ``features`` reads: each candidate's sentences and
    its context, which stays inside the turn (a host's question is never encoded)."""
    return sorted({k for c in cands for k in range(max(0, c["i"] - CONTEXT_SENTENCES), c["j"])
                   if rows[k]["turn"] == rows[c["i"]]["turn"]})


def sentence_embeddings(rows, cands, encode=encode):
    """One vector per row, (len(rows), 384) float32: the encoded rows' and zeros elsewhere."""
    from ..encoder import DIM
    emb = np.zeros((len(rows), DIM), dtype=np.float32)
    used = encoded_rows(rows, cands)
    if used:
        emb[used] = encode([rows[k]["text"] for k in used])
    return emb


def _mean(emb, idx):
    if not idx:
        return np.zeros(emb.shape[1], dtype=np.float32)
    v = emb[idx].mean(axis=0)
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def _sentence_rules(rows, proper_nouns):
    """Rule scores of every sentence, with the previous sentence of its turn as context."""
    out = {}

    def get(i):
        if i not in out:
            prev = rows[i - 1]["text"] if i and rows[i - 1]["turn"] == rows[i]["turn"] else None
            out[i] = rule_scores(rows[i]["text"], proper_nouns, {"prev": prev})
        return out[i]
    return get


def features(cands, rows, emb, proper_nouns=frozenset()):
    """The feature matrix, one row per candidate (float32).

    The rules run once per sentence, not per span: a span takes its first
    sentence's rules and the mean over its sentences, which is also what keeps
    an hour-long interview's thousands of spans cheap.
    """
    rules_of = _sentence_rules(rows, proper_nouns)
    d, r = emb.shape[1], len(RULE_NAMES)
    out = np.zeros((len(cands), 3 * d + 2 * r + len(SHAPE_NAMES)), dtype=np.float32)
    for n, c in enumerate(cands):
        i, j = c["i"], c["j"]
        span = _mean(emb, list(range(i, j)))
        ctx_idx = [k for k in range(max(0, i - CONTEXT_SENTENCES), i) if rows[k]["turn"] == rows[i]["turn"]]
        ctx = _mean(emb, ctx_idx)
        per = [rules_of(k) for k in range(i, j)]
        first = per[0]
        words = len(c["text"].split())
        shape = [np.mean([_logit(p["tip"]) for p in per]) / 5, np.mean([_logit(p["quote"]) for p in per]) / 5,
                 _logit(first["tip"]) / 5, _logit(first["quote"]) / 5, math.log(words) / 4,
                 float(j - i == 2), float(j - i == 3), float(c["turn_start"]), float(c["turn_end"]),
                 float(bool(ctx_idx)), float(c["text"].rstrip(" \"')\u201d").endswith("?")), float(words < 8)]
        out[n, :d] = span
        out[n, d:2 * d] = ctx
        out[n, 2 * d:3 * d] = span * ctx * 10
        out[n, 3 * d:3 * d + r] = np.mean([_rule_vector(p) for p in per], axis=0)
        out[n, 3 * d + r:3 * d + 2 * r] = _rule_vector(first)
        out[n, 3 * d + 2 * r:] = shape
    return out


@functools.lru_cache(maxsize=1)
def load_model(path=MODEL_PATH):
    """The shipped model: {"version", "usable", "tip_share" (heads), "tip", "quote" (thresholds), ...}, or None."""
    path = Path(path)
    if not path.exists():
        return None
    model = json.loads(path.read_text())
    for head in HEADS:
        model[head]["w"] = np.asarray(model[head]["w"], dtype=np.float32)
    return model


def raw_scores(model, X, head):
    head = model[head]
    return X @ head["w"] + head["b"]


def calibrate(head, z):
    """Platt scaling fitted on held-out folds of the training data."""
    a, b = head["calibration"]
    return 1.0 / (1.0 + np.exp(-(a * z + b)))


def combine(usable, tip_share):
    """{"tip": usable * tip_share, "quote": usable * (1 - tip_share)}."""
    return {"tip": usable * tip_share, "quote": usable * (1.0 - tip_share)}


def predict(model, X, texts=None, top=RERANK_TOP):
    """Calibrated probabilities {"tip": array, "quote": array} that a candidate is usable as that kind.

    texts: the candidates' words. With them and a reranker in the model, the
    `top` candidates the heads score highest are scored again, their
    usable probability taken from the fine-tuned encoder and the usable head
    together; the rest score 0 (they could not reach an item's place anyway,
    and their heads-only probability would not be comparable).
    """
    z_usable = raw_scores(model, X, "usable")
    usable = calibrate(model["usable"], z_usable)
    share = calibrate(model["tip_share"], raw_scores(model, X, "tip_share"))
    if texts is None or "rerank" not in model:
        return combine(usable, share)
    first = usable * np.maximum(share, 1.0 - share)
    best = np.argsort(-first, kind="stable")[:top]
    reranked = np.zeros_like(usable)
    reranked[best] = rerank_usable(model, [texts[k] for k in best], z_usable[best])
    return combine(reranked, share)


def reranker_logits(texts, quantized=True, path=RERANKER_PATH):
    """The fine-tuned encoder's usable logit for each text, from its int8 graph
    (2.3 times as fast as fp32) or the fp32 one, which gives torch's logits."""
    from ..encoder import get_encoder
    head = _reranker_head(str(path))
    vectors = get_encoder(quantized=quantized, adapter=path).encode(texts, batch_size=ENCODER_BATCH)
    return vectors @ head["w"] + head["b"]


def rerank_usable(model, texts, z_usable):
    """P(usable) from the reranker's logit and the usable head's, stacked and calibrated.

    The stack was fitted on fp32 logits; the int8 graph's go through the linear
    map ``rerank.int8`` fitted on the training spans (training.int8_map) first."""
    rerank = model["rerank"]
    quantized = "int8" in rerank
    z = reranker_logits(texts, quantized)
    if quantized:
        z = rerank["int8"][0] * z + rerank["int8"][1]
    a, b, c = rerank["stack"]
    return 1.0 / (1.0 + np.exp(-(a * z + b * z_usable + c)))


@functools.lru_cache(maxsize=2)
def _reranker_head(path):
    with np.load(path) as npz:
        return {"w": npz["head.w"].astype(np.float32), "b": float(npz["head.b"][0])}
