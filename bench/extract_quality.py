"""Score pipeline.extract against labelled interviews, next to a naive baseline.

    .venv/bin/python bench/extract_quality.py                  # dev, tune, heldout
    .venv/bin/python bench/extract_quality.py --sets dev tune --errors

Sets: dev = ../shared/corpus/interviews, tune = tests/data/interviews/t*.yaml,
heldout = tests/data/interviews/h*.yaml. Each set is built with the corpus's
build.py (--no-audio) into a temporary folder; we read the Podcasting 2.0 JSON
transcripts, run extract_items with the host from the yaml, write an export
JSONL and score it with score.py. The naive baseline calls every guest
sentence with "you" a tip and every other guest sentence a quote.
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.extract import extract_items, split_sentences  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
LABELLED = ROOT / "tests" / "data" / "interviews"
SETS = {
    "dev": lambda: sorted((CORPUS / "interviews").glob("*.yaml")),
    "tune": lambda: sorted(LABELLED.glob("t*.yaml")),
    "heldout": lambda: sorted(LABELLED.glob("h*.yaml")),
}


def build(yamls, work):
    """Build the corpus for these yaml files; returns (out dir, interviews)."""
    src = work / "interviews"
    src.mkdir(parents=True)
    for p in yamls:
        shutil.copy(p, src / p.name)
    out = work / "out"
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(src), str(out), "--no-audio"],
                   check=True, capture_output=True)
    return out, [yaml.safe_load(p.read_text()) for p in yamls]


def segments_for(out, iv):
    data = json.loads((out / "transcripts" / f"{iv['id']}.json").read_text())
    return [{"id": i, "start": s.get("startTime"), "end": s.get("endTime"), "text": s["body"],
             "speaker": s.get("speaker")} for i, s in enumerate(data["segments"])]


def naive(segments, hosts):
    items = []
    for seg in segments:
        if not seg["speaker"] or seg["speaker"] in hosts:
            continue
        for s in split_sentences(seg["text"]):
            kind = "tip" if re.search(r"\byou\b", s, re.I) else "quote"
            items.append({"kind": kind, "text": s, "speaker": seg["speaker"], "start": seg["start"],
                          "end": seg["end"], "score": 0.5})
    return items


def export(interviews, out, extractor, path):
    rows = []
    for iv in interviews:
        hosts = {iv["host"]["name"]}
        for item in extractor(segments_for(out, iv), hosts):
            rows.append({"kind": item["kind"], "text": item["text"], "speaker": item["speaker"],
                         "person": item["speaker"], "episode_guid": iv["guid"], "start": item["start"],
                         "end": item["end"], "score": item["score"]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def run_score(gold, export_path):
    res = subprocess.run([sys.executable, str(CORPUS / "score.py"), str(gold), str(export_path)],
                         check=True, capture_output=True, text=True)
    return res.stdout.strip().splitlines()


def show_errors(interviews, out):
    """Per sentence: what we said versus the gold label (only for sets we tune on)."""
    for iv in interviews:
        gold = {k: iv["gold"].get(k, []) for k in ("tips", "quotes")}
        items = extract_items(segments_for(out, iv), {iv["host"]["name"]})
        print(f"--- {iv['id']}")
        for item in items:
            label = next((k[:-1] for k, lines in gold.items()
                          if any(item["text"] in g or g in item["text"] for g in lines)), "none")
            mark = "ok " if label == item["kind"] else "XX "
            print(f"{mark}{item['kind']:5s} (gold {label:5s}) {item['score']:.2f} {item['text']}")
            if mark == "XX ":
                print("      ", item["features"])
        said = " ".join(i["text"] for i in items)
        for kind, lines in gold.items():
            for g in lines:
                if g not in said:
                    print(f"MISS  {kind[:-1]:5s} {g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--errors", action="store_true", help="list per-item mistakes (dev and tune only)")
    args = ap.parse_args()
    for name in args.sets:
        with tempfile.TemporaryDirectory() as tmp:
            out, interviews = build(SETS[name](), Path(tmp))
            for label, fn in (("extract", extract_items), ("naive", naive)):
                path = Path(tmp) / f"export-{label}.jsonl"
                export(interviews, out, fn, path)
                lines = run_score(out / "gold.jsonl", path)
                print(f"[{name:7s} {label:7s} n={len(interviews):2d}] {lines[-1]}")
                if label == "extract":
                    for line in lines[:-1]:
                        print("        " + line)
            if args.errors and name != "heldout":
                show_errors(interviews, out)


if __name__ == "__main__":
    main()
