"""Speed of pipeline.extract on the 40 real transcripts in ../shared/corpus/lenny/,
plus the top tips and quotes of a few episodes for judging precision by hand.

    .venv/bin/python bench/extract.py [--extractor model|rules] [--samples /tmp/extract_lenny_samples.txt]

Prints the encoder's load time (first use, in this process), sentences per second
over all 40 transcripts (wall and CPU time, so a busy machine shows), the
slowest hour of interview, and the peak memory of the process.

The transcripts are Markdown with YAML front matter; turns start with
"Speaker Name (hh:mm:ss):" and bare "(hh:mm:ss):" paragraphs continue the same
speaker. We read them with pipeline.transcript_formats when it is there, and
with the small parser below otherwise. The samples file quotes the transcripts,
so it goes to /tmp, not into the project.
"""
import argparse
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.extract import EXTRACTORS, extract_items, extractor_version, split_sentences  # noqa: E402

LENNY = ROOT.parent / "shared" / "corpus" / "lenny"
HOSTS = {"Lenny", "Lenny Rachitsky"}
SAMPLE_EPISODES = ("brandon-chu.md", "bob-baxley.md", "christian-idiodi.md", "claire-vo.md",
                   "julia-schottenstein.md", "sarah-tavel.md")
TURN = re.compile(r"^(?:(?P<speaker>[^()\n]{1,80}?)\s+)?\((?P<time>\d+(?::\d{2}){1,2})\):\s*(?P<text>.*)$")


def _seconds(stamp):
    total = 0
    for part in stamp.split(":"):
        total = total * 60 + int(part)
    return float(total)


def parse_local(text):
    """Segments from a Lenny-style Markdown transcript."""
    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    segments, speaker = [], None
    for line in body.split("\n"):
        m = TURN.match(line.strip())
        if m:
            speaker = m.group("speaker") or speaker
            segments.append({"start": _seconds(m.group("time")), "end": None, "text": m.group("text"),
                             "speaker": speaker})
        elif segments and line.strip() and not line.startswith("#"):
            segments[-1]["text"] += " " + line.strip()
    for a, b in zip(segments, segments[1:]):
        a["end"] = b["start"]
    if segments:
        segments[-1]["end"] = segments[-1]["start"]
    return segments


def load(path):
    text = path.read_text()
    try:
        from pipeline.transcript_formats import parse
        segments = parse(text, "md")["segments"]
    except ImportError:
        segments = parse_local(text)
    return [dict(seg, id=i) for i, seg in enumerate(segments)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", default="/tmp/extract_lenny_samples.txt")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--extractor", choices=EXTRACTORS, default="model")
    ap.add_argument("--episodes", nargs="+", default=list(SAMPLE_EPISODES),
                    help="file names of the episodes to sample (default: %(default)s)")
    args = ap.parse_args()
    files = sorted(LENNY.glob("*.md"))
    if not files:
        raise SystemExit(f"no transcripts in {LENNY}")
    episodes = {p.name: load(p) for p in files}
    sentences = sum(len(split_sentences(s["text"])) for segs in episodes.values() for s in segs)
    if args.extractor == "model":
        t0 = time.perf_counter()
        from pipeline.extract.model import encode
        encode(["warm up"])
        print(f"encoder loaded in {time.perf_counter() - t0:.2f} s")
    best = best_cpu = None
    per_hour = 0.0
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        results = {}
        for name, segs in episodes.items():
            e0 = time.perf_counter()
            results[name] = extract_items(segs, HOSTS, extractor=args.extractor)
            hours = max(1e-9, (segs[-1]["end"] or segs[-1]["start"] or 0) / 3600)
            per_hour = max(per_hour, (time.perf_counter() - e0) / max(hours, 0.25))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = elapsed if best is None else min(best, elapsed)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    tips = sum(1 for items in results.values() for i in items if i["kind"] == "tip")
    quotes = sum(1 for items in results.values() for i in items if i["kind"] == "quote")
    print(f"extractor {extractor_version(args.extractor)}: {len(episodes)} transcripts, {sentences} sentences, "
          f"{best:.2f}s best of {args.repeat} -> {sentences / best:,.0f} sentences/s "
          f"({sentences / best_cpu:,.0f} per CPU-second); slowest: {per_hour:.1f} s per hour of interview; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          f"{tips} tips, {quotes} quotes ({(tips + quotes) / len(episodes):.0f} per episode)")
    with open(args.samples, "w") as out:
        for name in args.episodes:
            items = results.get(name, [])
            for kind in ("tip", "quote"):
                top = sorted((i for i in items if i["kind"] == kind), key=lambda i: -i["score"])[:5]
                out.write(f"== {name} top {kind}s ({sum(1 for i in items if i['kind'] == kind)} in all)\n")
                for i in top:
                    out.write(f"  [{i['score']:.2f}] {i['speaker']} @{i['start']}: {i['text']}\n"
                              f"         topics={i['topics']}\n")
            out.write("\n")
    print(f"samples -> {args.samples}")


if __name__ == "__main__":
    main()
