"""Train the extractor's heads from labelled transcripts.

    .venv/bin/python scripts/train_extractor.py --transcripts ../shared/corpus/lenny

Reads labels/*.jsonl (file, start, end, kind, grade) and labels/split.json (which
episodes are for training; the validation episodes are never read here), builds
candidates and features exactly as the extractor does at run time, fits one
logistic head per kind, calibrates it on held-out folds of the training episodes,
picks each kind's threshold on those folds, and writes pipeline/extract/model.json.
Fixed folds and a deterministic solver: the same inputs give the same weights.
"""
import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.extract import model as M  # noqa: E402
from pipeline.extract.training import (USABLE, auc, episode, examples, fit_logistic, fit_platt,  # noqa: E402
                                       load_labels)

VERSION = "minilm-lr-2"  # 2: int8 encoder, context inside the turn only
WEAK_PER_EPISODE = 150   # unlabelled spans taken as likely-unusable, per episode
WEAK_WEIGHT = 0.15
FOLDS = 5
L2_GRID = (3.0, 10.0, 30.0)


def build(files, labels, transcripts, cache):
    X, Y, W, G, L = [], {k: [] for k in M.KINDS}, [], [], []
    missed = 0
    for f in files:
        ep = episode(Path(transcripts) / f, M.encode, cache)
        ex, miss = examples(ep, [lab for lab in labels if lab["file"] == f])
        missed += miss
        covered = set()
        for k, kind, grade in ex:
            X.append(ep["X"][k])
            for head in M.KINDS:
                Y[head].append(float(grade in USABLE and kind == head))
            W.append(1.0)
            G.append(f)
            L.append(True)
            covered.update(range(ep["cands"][k]["i"], ep["cands"][k]["j"]))
        pool = [k for k, c in enumerate(ep["cands"]) if not covered & set(range(c["i"], c["j"]))]
        for k in random.Random(f).sample(pool, min(WEAK_PER_EPISODE, len(pool))):
            X.append(ep["X"][k])
            for head in M.KINDS:
                Y[head].append(0.0)
            W.append(WEAK_WEIGHT)
            G.append(f)
            L.append(False)
        print(f"  {f}: {len(ex)} labels matched, {miss} not", file=sys.stderr)
    return np.array(X), {k: np.array(v) for k, v in Y.items()}, np.array(W), np.array(G), np.array(L), missed


def cross_val(X, y, w, groups, labelled, l2):
    files = sorted(set(groups))
    fold_of = {f: n % FOLDS for n, f in enumerate(files)}
    folds = np.array([fold_of[g] for g in groups])
    z = np.zeros(len(y))
    for k in range(FOLDS):
        tr, te = folds != k, folds == k
        coef, b = fit_logistic(X[tr], y[tr], w[tr], l2)
        z[te] = X[te] @ coef + b
    return z[labelled], y[labelled]


def best_threshold(p, y):
    """The calibrated score that maximises F1 on held-out folds."""
    best, best_t = -1.0, 0.5
    for t in np.arange(0.2, 0.81, 0.025):
        pred = p >= t
        tp = float((pred & (y > 0)).sum())
        f1 = 2 * tp / max(1.0, pred.sum() + (y > 0).sum())
        if f1 > best:
            best, best_t = f1, float(round(t, 3))
    return best_t, best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", required=True, help="folder of the labelled transcripts")
    ap.add_argument("--labels", default=str(ROOT / "labels"))
    ap.add_argument("--out", default=str(M.MODEL_PATH))
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "podpipe" / "train-embeddings"))
    args = ap.parse_args()
    split = json.loads((Path(args.labels) / "split.json").read_text())
    labels = [lab for lab in load_labels(args.labels) if lab["file"] in split["train"]]
    X, Y, W, G, L, missed = build(split["train"], labels, args.transcripts, args.cache)
    model = {"version": VERSION, "encoder": M.encoder_version(), "features": X.shape[1],
             "training": {"episodes": len(split["train"]), "labels": int(L.sum()), "unmatched_labels": missed,
                          "weak_negatives": int((~L).sum()), "weak_weight": WEAK_WEIGHT}}
    for kind in M.KINDS:
        y = Y[kind]
        scores = {}
        for l2 in L2_GRID:
            z, yl = cross_val(X, y, W, G, L, l2)
            scores[l2] = (auc(z, yl > 0), z, yl)
        l2 = max(L2_GRID, key=lambda v: scores[v][0])
        cv_auc, z, yl = scores[l2]
        a, b = fit_platt(z, yl)
        p = 1 / (1 + np.exp(-(a * z + b)))
        threshold, f1 = best_threshold(p, yl)
        coef, bias = fit_logistic(X, y, W, l2)
        model[kind] = {"w": [round(float(v), 6) for v in coef], "b": round(bias, 6), "l2": l2,
                       "calibration": [round(a, 6), round(b, 6)], "threshold": threshold,
                       "cv": {"auc": round(cv_auc, 4), "f1_at_threshold": round(f1, 4),
                              "positives": int((yl > 0).sum()), "labelled": int(len(yl))}}
        print(f"{kind}: l2={l2} cv auc={cv_auc:.3f} threshold={threshold} f1={f1:.3f} "
              f"positives={int((yl > 0).sum())}/{len(yl)}")
    Path(args.out).write_text(json.dumps(model, separators=(",", ":")) + "\n")
    write_card(Path(args.out).with_name("MODEL_CARD.md"), model, split)
    print(f"wrote {args.out}")


def write_card(path, model, split):
    """The model card's generated part, above the sections written by hand."""
    old = path.read_text() if path.exists() else ""
    # the hand-written sections (how it reproduces, the validation numbers) stay as they are
    start = next((old.index(h) for h in ("## Reproducing", "## Validation") if h in old), None)
    keep = old[start:] if start is not None else "## Validation\n\nRun bench/extract_real.py.\n"
    t = model["training"]
    lines = [f"# Extractor model card: {model['version']}", "",
             "Scores candidate spans (one to three sentences of a guest's turn) as tips and as quotes.", "",
             "## Model", "",
             f"- Encoder: {model['encoder']}, sentence embeddings (mean-pooled, normalised), frozen.",
             f"- Features ({model['features']}): span embedding, context embedding (the speaker's two preceding "
             "sentences in the turn), their product, the rules' scores and which rules fired (span and first "
             "sentence), and shape (length, sentences, position in the turn).",
             "- Heads: one L2-regularised logistic regression per kind (L2 strength chosen by cross-validated AUC), "
             "Platt-calibrated on held-out folds, so a score is the probability an editor finds the span usable "
             "(GOOD or OK by the rubric) as that kind.", "",
             "## Data", "",
             f"- {t['episodes']} training episodes of a public PM-interview podcast (labels/split.json); "
             f"{len(split['validation'])} other episodes are held out for validation and never read by training.",
             f"- {t['labels']} labelled spans (labels/*.jsonl: editors' grades of sampled candidates, their picks, "
             f"and the 320 graded items shipped with the corpus), {t['unmatched_labels']} labels that matched no "
             f"candidate span; {t['weak_negatives']} unlabelled spans as likely-unusable examples at weight "
             f"{t['weak_weight']}.",
             "- Folds: 5, by episode (two sentences of one interview never sit on both sides).", "",
             "## Cross-validation on the training episodes", "",
             "| kind | AUC usable vs not | threshold (max F1) | F1 | positives / labelled |", "|---|---|---|---|---|"]
    for kind in M.KINDS:
        cv = model[kind]["cv"]
        lines.append(f"| {kind} | {cv['auc']} | {model[kind]['threshold']} | {cv['f1_at_threshold']} | "
                     f"{cv['positives']} / {cv['labelled']} |")
    path.write_text("\n".join(lines) + "\n\n" + keep)


if __name__ == "__main__":
    main()
