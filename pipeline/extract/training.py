"""Training data and training for the extractor's heads (used by
scripts/train_extractor.py and bench/extract_real.py, never at run time).

Labels point into transcript files by file name and character offsets (the
transcripts themselves are not ours to ship); a label is matched to the
candidate span with the same words. Everything is deterministic: the same
labels and transcripts give the same weights.
"""
import hashlib
import json
import re
from pathlib import Path

import numpy as np

from . import model as M
from .rules import episode_proper_nouns
from .sentences import candidates, guest_speakers, sentence_rows
from ..transcript_formats import parse

USABLE = {"GOOD", "OK"}
HOSTS = {"lenny", "lenny rachitsky"}


def norm(text):
    return " ".join(re.sub(r"[^\w']+", " ", text.lower().replace("\u2019", "'")).split())


def load_labels(folder):
    """Every label line from folder/*.jsonl, with its text read back from the transcript later."""
    out = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def episode(path, encode=None, cache_dir=None):
    """Rows, candidates, features and raw text of one transcript file.

    encode: texts -> vectors, the extractor's own encoder (``model.encode``) unless given.
    """
    encode = encode or M.encode
    raw = Path(path).read_text(encoding="utf-8")
    parsed = parse(raw.encode(), "md")
    meta, segments = parsed["meta"], [dict(s, id=k) for k, s in enumerate(parsed["segments"])]
    rows = sentence_rows(segments)
    guests = guest_speakers(rows, HOSTS)
    cands = candidates(rows, guests)
    full = M.sentence_embeddings(rows, cands, lambda texts: _cached_embeddings(texts, encode, cache_dir))
    names = episode_proper_nouns(r["text"] for r in rows)
    X = M.features(cands, rows, full, names)
    return {"raw": raw, "rows": rows, "cands": cands, "X": X, "emb": full, "meta": meta}


def _cached_embeddings(texts, encode, cache_dir):
    if not cache_dir:
        return encode(texts)
    # the encoder's version (and batch size: int8 scales per batch) is part of
    # the key: a new encoder embeds again
    tag = f"{M.encoder_version()} batch {M.ENCODER_BATCH}"
    key = hashlib.sha256("\n".join([tag, *texts]).encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"{key}.npy"
    if path.exists():
        return np.load(path)
    emb = encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, emb)
    return emb


def match(cands, text):
    """Index of the candidate that says `text` (same words, or nearly), or None."""
    target = norm(text)
    for k, c in enumerate(cands):
        if norm(c["text"]) == target:
            return k
    words = set(target.split())
    best, best_k = 0.0, None
    for k, c in enumerate(cands):
        cw = set(norm(c["text"]).split())
        jac = len(words & cw) / max(1, len(words | cw))
        if jac > best:
            best, best_k = jac, k
    return best_k if best >= 0.75 else None


def examples(ep, labels):
    """(candidate index, label) for each label matched in this episode; unmatched count."""
    out, missed = [], 0
    for lab in labels:
        k = match(ep["cands"], ep["raw"][lab["start"]:lab["end"]])
        if k is None:
            missed += 1
        else:
            out.append((k, lab))
    return out, missed


def fit_logistic(X, y, w, l2=1.0):
    """L2-regularised, weighted logistic regression (L-BFGS from zero: deterministic)."""
    from scipy.optimize import minimize

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape

    def loss(beta):
        z = X @ beta[:-1] + beta[-1]
        # log(1 + e^z) - y z, computed stably
        nll = np.sum(w * (np.logaddexp(0, z) - y * z)) + 0.5 * l2 * beta[:-1] @ beta[:-1]
        g = w * (1 / (1 + np.exp(-z)) - y)
        grad = np.concatenate([X.T @ g + l2 * beta[:-1], [g.sum()]])
        return nll, grad

    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return res.x[:-1], float(res.x[-1])


def fit_platt(z, y):
    """a, b so that sigmoid(a * z + b) is calibrated on (z, y)."""
    a, b = fit_logistic(z.reshape(-1, 1), y.astype(float), np.ones(len(y)), l2=1e-3)
    return float(a[0]), b


def auc(scores, labels):
    """Area under the ROC curve (ties count half)."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    allv = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def int8_map(texts, path=M.RERANKER_PATH):
    """[slope, intercept] taking the reranker's int8 logits to its fp32 ones
    (least squares over texts: the training spans), and their correlation.

    The stack is fitted on fp32 logits of held-out folds; dynamic int8 keeps
    their order (correlation 0.998 on the training spans) but shifts them a
    little, which the map takes back out."""
    q = M.reranker_logits(texts, quantized=True, path=path).astype(np.float64)
    fp = M.reranker_logits(texts, quantized=False, path=path).astype(np.float64)
    slope, intercept = np.polyfit(q, fp, 1)
    return [round(float(slope), 6), round(float(intercept), 6)], float(np.corrcoef(q, fp)[0, 1])
