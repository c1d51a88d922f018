"""List the extractor's hard cases on the training episodes, for blind grading.

    .venv/bin/python scripts/hard_cases.py --transcripts ../shared/corpus/lenny --out /tmp/hard.jsonl [--top 10]

Each training episode is scored by heads fitted without its cross-validation
fold (the folds of scripts/train_extractor.py), selected as at run time, and its
top --top tips and quotes that no label in labels/ covers are written as JSON
lines (file, kind, text, score). Give the judges the kind and text only, never
the score; their grades, with offsets into the transcript, go to
labels/train-judged.jsonl (labels/README.md). minilm-lr-2 learnt from one round
of these; a second round did not help (labels/unused/). The picks are the
heads' alone: the reranker (minilm-ft-3) would need a fine-tuning per fold to
score an episode it never saw, half an hour for a round. --shipped takes the
picks of the shipped model instead (reranker included), as at run time: its
heads and reranker learnt from the labelled spans of these episodes, but never
from the spans no label covers, which are the ones written.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

import train_extractor as T  # noqa: E402
from extract_real import grade_of  # noqa: E402
from pipeline.extract import model as M  # noqa: E402
from pipeline.extract.selection import select, span_embeddings  # noqa: E402
from pipeline.extract.training import episode, fit_logistic, load_labels, norm  # noqa: E402


def _fold_heads(files, labels, args, shipped):
    """{episode file: the heads fitted without its cross-validation fold}, with the shipped L2 and calibration."""
    X, Y, G, _, _, _, _ = T.build(files, labels, args.transcripts, args.cache)
    folds = T.row_folds(G)
    heads = {k: {} for k in range(T.FOLDS)}
    for head in M.HEADS:
        y, w = Y[head]
        for k in range(T.FOLDS):
            keep = (folds != k) & (w > 0)
            coef, b = fit_logistic(X[keep], y[keep], w[keep], shipped[head]["l2"])
            heads[k][head] = {"w": coef.astype(np.float32), "b": b, "calibration": shipped[head]["calibration"]}
    return {f: heads[k] for f, k in T.fold_of(G).items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", required=True, help="folder of the labelled transcripts")
    ap.add_argument("--out", required=True, help="JSON Lines file to write")
    ap.add_argument("--top", type=int, default=10, help="items of each kind per episode")
    ap.add_argument("--shipped", action="store_true",
                    help="the shipped model's picks (reranker included) instead of the heads' of each fold")
    ap.add_argument("--labels", default=str(ROOT / "labels"))
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "podpipe" / "train-embeddings"))
    args = ap.parse_args()
    split = json.loads((Path(args.labels) / "split.json").read_text())
    labels = [lab for lab in load_labels(args.labels) if lab["file"] in split["train"]]
    # grades not used in training still say which spans were judged
    judged = labels + [lab for lab in load_labels(Path(args.labels) / "unused") if lab["file"] in split["train"]]
    shipped = M.load_model()
    fold_heads = None if args.shipped else _fold_heads(split["train"], labels, args, shipped)
    written = covered = 0
    with open(args.out, "w") as out:
        for f in split["train"]:
            ep = episode(Path(args.transcripts) / f, M.encode, args.cache)
            labs = [dict(lab, norm=norm(ep["raw"][lab["start"]:lab["end"]])) for lab in judged if lab["file"] == f]
            if fold_heads is None:
                probs = M.predict(shipped, ep["X"], [c["text"] for c in ep["cands"]])
            else:
                probs = M.predict(fold_heads[f], ep["X"])
            kept = select(ep["cands"], probs, {kind: 0.0 for kind in M.KINDS},
                          span_embeddings(ep["cands"], ep["emb"]), ep["rows"], args.top)
            for p, k, kind in kept:
                text = ep["cands"][k]["text"]
                if grade_of(text, kind, labs) is not None:
                    covered += 1
                    continue
                out.write(json.dumps({"file": f, "kind": kind, "text": text, "score": round(float(p), 3)}) + "\n")
                written += 1
    print(f"{written} hard cases written to {args.out}; {covered} already labelled")


if __name__ == "__main__":
    main()
