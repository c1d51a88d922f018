"""Real-time factor, peak memory and word error rate of the bundled Whisper models.

Builds a two-voice interview with espeak-ng (voices en-us and en-us+f3) in a
temporary directory, encodes it to MP3 like a podcast, and transcribes it with
each model in its own process so that peak RSS is per model. Also compares
condition_on_previous_text on and off.

    .venv/bin/python bench/asr_rtf.py [--models tiny.en,base] [--threads N]

Needs espeak-ng and ffmpeg on PATH.
"""
import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = [
    ("en-us", "Welcome to the show. Today we talk about product management with a "
              "guest who has led product teams at three different companies."),
    ("en-us+f3", "Thanks for having me. I think product management is mostly about "
                 "customers. You have to understand their problems before you write "
                 "a single requirement."),
    ("en-us", "How do you decide what goes on the roadmap when every team wants "
              "something different?"),
    ("en-us+f3", "We look at the business goals first, then at the evidence from "
                 "customer interviews. If a feature does not move a goal we care "
                 "about, it waits, even when a large customer asks for it."),
    ("en-us", "What about working with engineering and design?"),
    ("en-us+f3", "The best teams decide together. Engineers see solutions that "
                 "nobody else sees, and designers make sure we test ideas with real "
                 "people early, before we spend months building the wrong thing."),
    ("en-us", "And how do you measure whether a product manager is doing a good job?"),
    ("en-us+f3", "By outcomes, not output. Shipping many features means little if "
                 "retention and revenue stay flat. I would rather ship one change "
                 "that helps customers than ten that nobody uses."),
]


def make_clip(folder):
    """Write interview.mp3 into folder; return (path, duration_s, reference text)."""
    folder = Path(folder)
    parts = []
    for i, (voice, text) in enumerate(SCRIPT):
        wav = folder / f"line{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(wav), text], check=True)
        parts.append(wav)
    # 0.6 s of silence between turns, resampled to one rate, as a podcast MP3
    inputs, filters = [], []
    for i, wav in enumerate(parts):
        inputs += ["-i", str(wav)]
        filters.append(f"[{i}:a]aresample=22050,apad=pad_dur=0.6[a{i}]")
    concat = "".join(f"[a{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[out]"
    mp3 = folder / "interview.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *inputs, "-filter_complex",
                    ";".join(filters + [concat]), "-map", "[out]", "-b:a", "64k", str(mp3)],
                   check=True)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(mp3)], capture_output=True, text=True, check=True)
    return mp3, float(probe.stdout), " ".join(text for _, text in SCRIPT)


def words(text):
    return re.findall(r"[a-z']+", text.lower())


def wer(reference, hypothesis):
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def run_one(model_name, audio, reference, threads, condition):
    """Runs in a child process: load, transcribe, print one JSON line."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import pipeline  # noqa: F401  (sets ORT_DISABLE_TELEMETRY first)
    from pipeline import asr

    asr.CONDITION_ON_PREVIOUS_TEXT = condition
    t0 = time.perf_counter()
    model = asr.load_model(model_name, cpu_threads=threads)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    info, segments = asr.transcribe_audio(model, audio, language="en")
    transcribe_s = time.perf_counter() - t0
    text = " ".join(s["text"] for s in segments)
    print(json.dumps({
        "model": model.model, "condition": condition, "duration": info["duration"],
        "load_s": round(load_s, 2), "transcribe_s": round(transcribe_s, 2),
        "rtf": round(transcribe_s / info["duration"], 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "wer": round(wer(reference, text), 3), "text": text,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--threads", type=int, default=0, help="0: one per core")
    parser.add_argument("--condition", choices=["on", "off", "both"], default="both",
                        help="condition_on_previous_text setting(s) to try")
    parser.add_argument("--one", nargs=4, metavar=("MODEL", "AUDIO", "REF", "COND"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        name, audio, ref, cond = args.one
        run_one(name, audio, Path(ref).read_text(), args.threads, cond == "on")
        return
    conditions = ["on", "off"] if args.condition == "both" else [args.condition]
    with tempfile.TemporaryDirectory() as tmp:
        audio, duration, reference = make_clip(tmp)
        ref_file = Path(tmp) / "reference.txt"
        ref_file.write_text(reference)
        print(f"clip: {duration:.1f} s, {len(words(reference))} words, two voices, MP3 64 kb/s")
        print(f"{'model':24} {'cond':4} {'load s':>7} {'transcribe s':>12} {'RTF':>6} "
              f"{'peak RSS MB':>11} {'WER':>6}")
        for name in args.models.split(","):
            for cond in conditions:
                out = subprocess.run(
                    [sys.executable, __file__, "--threads", str(args.threads),
                     "--one", name, str(audio), str(ref_file), cond],
                    capture_output=True, text=True)
                if out.returncode:
                    print(f"{name}: failed\n{out.stderr}", file=sys.stderr)
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{r['model']:24} {cond:4} {r['load_s']:7.2f} {r['transcribe_s']:12.2f} "
                      f"{r['rtf']:6.3f} {r['peak_rss_mb']:11d} {r['wer']:6.3f}")
                print(f"    {r['text']}")


if __name__ == "__main__":
    main()
