"""The extractor on real interviews it was not trained on, judged by the rubric.

    .venv/bin/python bench/extract_real.py [--transcripts ../shared/corpus/lenny] [--extractor model|rules]

For each validation episode (labels/split.json) the transcript goes through the
real import and extract stages into a temporary database. The items are then
judged with the labels in labels/validation-*.jsonl (editors' grades of
candidate spans, and their picks; plus the shared graded items of those
episodes): an item takes the grade of a label that says the same words. Items
no label covers are listed with --unjudged FILE, for a judge to grade blind;
their grades go to labels/validation-judged.jsonl and count next time.

Prints precision@5 (strict and lenient) per kind, of the words as said and of
their cleaned version (labels/cleaned/: blind grades of clean_text), recall of the editors' picks,
the AUC of the score for usable against BAD on the graded candidates, a
calibration table, and the checks of the issue (short items, hosts, sponsors,
two-guest episodes), and the kappa of the two labellers who graded the same
episodes.
"""
import argparse
import collections
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.extract import EXTRACTORS, clean_text, extract_items  # noqa: E402
from pipeline.extract import model as M  # noqa: E402
from pipeline.extract.rules import SPONSOR_START, rule_scores  # noqa: E402
from pipeline.extract.training import USABLE, auc, episode, load_labels, match, norm  # noqa: E402
from pipeline.transcript_formats import parse  # noqa: E402

HOSTS = {"Lenny", "Lenny Rachitsky", "LENNY RACHITSKY"}


def grade_of(text, kind, labels):
    """(grade, source) of the label that says these words, with the rubric's 'wrong kind'."""
    target = norm(text)
    tw = set(target.split())
    best, best_lab = 0.0, None
    for lab in labels:
        lw = set(lab["norm"].split())
        jac = 1.0 if lab["norm"] == target else len(tw & lw) / max(1, len(tw | lw))
        if jac > best:
            best, best_lab = jac, lab
    if best < 0.8:
        return None
    grade = best_lab["grade"]
    if grade in USABLE and best_lab["kind"] in M.KINDS and best_lab["kind"] != kind:
        grade = "BAD"  # advice set as a quote, or an opinion set as a tip
    return grade


def _cleaned_labels(labels_dir, texts):
    """{file: [label]} from labels/cleaned/: blind grades of items' clean_text. A label
    points at the item's verbatim span and carries the SHA-1 of the cleaned words it
    graded; they are made again from the span, and a label whose words the cleaning
    now makes differently no longer counts (it is graded again)."""
    out = collections.defaultdict(list)
    for path in sorted((labels_dir / "cleaned").glob("*.jsonl")):
        for lab in map(json.loads, path.read_text().splitlines()):
            if lab["file"] in texts:
                words = clean_text(texts[lab["file"]][lab["start"]:lab["end"]])
                if clean_sha1(words) == lab["clean_sha1"]:
                    out[lab["file"]].append(dict(lab, norm=norm(words)))
    return out


def clean_sha1(words):
    """What a cleaned label keeps of the words it graded (not the words: they are not ours)."""
    return hashlib.sha1(words.encode()).hexdigest()[:12]


def kappa(a, b):
    n = len(a)
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = collections.Counter(a), collections.Counter(b)
    pe = sum(ca[c] * cb[c] for c in set(a) | set(b)) / n / n
    return (po - pe) / (1 - pe)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", default=str(ROOT.parent / "shared" / "corpus" / "lenny"))
    ap.add_argument("--extractor", choices=EXTRACTORS, default="model")
    ap.add_argument("--unjudged", help="write items no label covers to this JSON Lines file")
    ap.add_argument("--items", help="write every item, with its grade, to this JSON Lines file")
    args = ap.parse_args()
    labels_dir = ROOT / "labels"
    split = json.loads((labels_dir / "split.json").read_text())
    val = split["validation"]
    labels = [lab for lab in load_labels(labels_dir) if lab["file"] in val]
    # the blind judgments of the model's own items (whatever their source tag) are not
    # a sample of candidates: the AUC leaves them out
    judged = {(j["file"], j["start"], j["end"]) for j in map(json.loads, (labels_dir / "validation-judged.jsonl")
                                                              .read_text().splitlines())}
    texts = {}
    for lab in labels:
        if lab["file"] not in texts:
            texts[lab["file"]] = (Path(args.transcripts) / lab["file"]).read_text(encoding="utf-8")
        lab["text"] = texts[lab["file"]][lab["start"]:lab["end"]]
        lab["norm"] = norm(lab["text"])
    by_file = collections.defaultdict(list)
    for lab in labels:
        by_file[lab["file"]].append(lab)

    at5 = {k: collections.Counter() for k in M.KINDS}
    clean5 = {k: collections.Counter() for k in M.KINDS}  # the same items as exports show them (clean_text)
    cleaned = _cleaned_labels(labels_dir, texts)
    recall = collections.Counter()
    short = hosts = sponsors = 0
    unjudged, calib, auc_scores, auc_rules, auc_all, auc_heads, auc_y = [], [], [], [], [], [], []
    two_guests = {}
    n_items = 0
    everything = []
    t_extract = 0.0
    for f in val:
        data = (Path(args.transcripts) / f).read_bytes()
        parsed = parse(data, "md")
        segments = [dict(s, id=k) for k, s in enumerate(parsed["segments"])]
        t0 = time.perf_counter()
        items = extract_items(segments, HOSTS, extractor=args.extractor)
        t_extract += time.perf_counter() - t0
        n_items += len(items)
        labs = by_file[f]
        for item in items:
            item["grade"] = grade_of(item["text"], item["kind"], labs)
            if item["grade"] is None:
                unjudged.append({"file": f, "kind": item["kind"], "text": item["text"]})
            else:
                calib.append((item["score"], item["grade"] in USABLE))
            short += len(item["text"].split()) <= 4 and item["grade"] != "GOOD"
            hosts += item["speaker"] in HOSTS
            sponsors += bool(SPONSOR_START.search(item["text"]))
        everything += [dict(i, file=f) for i in items]
        for kind in M.KINDS:
            top = sorted((i for i in items if i["kind"] == kind), key=lambda i: -i["score"])[:5]
            for i in top:
                at5[kind]["judged" if i["grade"] else "unjudged"] += 1
                at5[kind]["GOOD"] += i["grade"] == "GOOD"
                at5[kind]["usable"] += i["grade"] in USABLE
                # words the cleaning left as they were keep their grade
                same = norm(i["clean_text"]) == norm(i["text"])
                grade = i["grade"] if same else grade_of(i["clean_text"], kind, cleaned[f])
                clean5[kind]["judged" if grade else "unjudged"] += 1
                clean5[kind]["GOOD"] += grade == "GOOD"
                clean5[kind]["usable"] += grade in USABLE
        for pick in (lab for lab in labs if lab.get("rank") and lab["rank"] <= 5):
            # found: an item that shares most of its words or most of the pick's (the same
            # passage, cut a little differently) and is itself usable as judged
            pw = set(pick["norm"].split())
            grades = [i["grade"] for i in items
                      if len(pw & set(norm(i["text"]).split())) >= 0.5 * min(len(pw), len(set(norm(i["text"]).split())))]
            recall["picks"] += 1
            recall["lenient"] += any(g in USABLE for g in grades)
            recall["strict"] += "GOOD" in grades
        speakers = {s["speaker"] for s in segments if s.get("speaker")} - HOSTS
        if len(speakers) >= 2:
            two_guests[f] = collections.Counter(i["speaker"] for i in items)
        # separation on the graded candidates, scored in their episode
        ep = episode(Path(args.transcripts) / f, _encode(), None)
        model = M.load_model()
        texts = [c["text"] for c in ep["cands"]]
        probs = M.predict(model, ep["X"], texts) if model else None
        # the separation of the score itself: every candidate scored as the reranker's top ones are
        everyone = M.predict(model, ep["X"], texts, top=len(texts)) if model else None
        heads = M.predict(model, ep["X"]) if model else None  # without the reranker
        for lab in labs:
            if lab.get("rank") or (lab["file"], lab["start"], lab["end"]) in judged:
                continue
            k = match(ep["cands"], lab["text"])
            if k is None:
                continue
            auc_y.append(lab["grade"] in USABLE)
            auc_scores.append(max(probs["tip"][k], probs["quote"][k]) if probs is not None else 0)
            auc_all.append(max(everyone["tip"][k], everyone["quote"][k]) if probs is not None else 0)
            auc_heads.append(max(heads["tip"][k], heads["quote"][k]) if probs is not None else 0)
            r = rule_scores(lab["text"])
            auc_rules.append(max(r["tip"], r["quote"]))

    print(f"extractor: {args.extractor}; {len(val)} validation episodes; {n_items} items; "
          f"{t_extract:.1f} s extracting (encoder load included)")
    for kind in M.KINDS:
        c = at5[kind]
        j = max(1, c["judged"])
        print(f"{kind} precision@5: strict {c['GOOD'] / j:.0%} lenient {c['usable'] / j:.0%} "
              f"({c['judged']} judged, {c['unjudged']} not yet)")
    for kind in M.KINDS:
        c = clean5[kind]
        j = max(1, c["judged"])
        print(f"{kind} precision@5 of the cleaned text (clean_text, as exports show it): strict {c['GOOD'] / j:.0%} "
              f"lenient {c['usable'] / j:.0%} ({c['judged']} judged, {c['unjudged']} not yet)")
    print(f"recall of editors' top-5 picks: strict {recall['strict'] / recall['picks']:.0%} "
          f"lenient {recall['lenient'] / recall['picks']:.0%} ({recall['picks']} picks)")
    print(f"AUC usable vs BAD on {len(auc_y)} graded candidates: model {auc(auc_scores, auc_y):.3f}, "
          f"rules {auc(auc_rules, auc_y):.3f}; every candidate reranked {auc(auc_all, auc_y):.3f}, "
          f"the heads alone {auc(auc_heads, auc_y):.3f}")
    print(f"items of <= 4 words not GOOD: {short}; from a host: {hosts}; sponsor reads: {sponsors}")
    for f, counts in two_guests.items():
        print(f"two guests, {f}: {dict(counts)}")
    if calib:
        s = np.array([c[0] for c in calib])
        y = np.array([c[1] for c in calib])
        for lo, hi in ((0, .4), (.4, .6), (.6, .8), (.8, 1.01)):
            m = (s >= lo) & (s < hi)
            if m.any():
                print(f"score {lo:.1f}-{min(hi, 1):.1f}: {m.sum()} judged items, {y[m].mean():.0%} usable")
    overlap = labels_dir / "kappa" / "overlap-L1-L2.jsonl"
    if overlap.exists():
        rows = [json.loads(line) for line in overlap.read_text().splitlines()]
        a = [r for r in rows if r["source"] == "L1"]
        b = [r for r in rows if r["source"] == "L2"]
        print(f"labellers' agreement on {len(a)} items: kappa {kappa([r['grade'] for r in a], [r['grade'] for r in b]):.2f} "
              f"(three grades), {kappa([r['grade'] in USABLE for r in a], [r['grade'] in USABLE for r in b]):.2f} "
              f"(usable vs BAD)")
    if args.items:
        with open(args.items, "w") as out:
            for i in everything:
                out.write(json.dumps({k: i.get(k) for k in ("file", "kind", "score", "grade", "speaker", "text")}) + "\n")
    if args.unjudged:
        with open(args.unjudged, "w") as out:
            for u in unjudged:
                out.write(json.dumps(u) + "\n")
        print(f"{len(unjudged)} unjudged items written to {args.unjudged}")


def _encode():
    from pipeline.extract.model import encode
    return encode


if __name__ == "__main__":
    main()
