"""Transcription: the pipeline's transcribe stage against a bare faster-whisper
call on the same audio with the same model and settings, word error rate
against the interview scripts, and peak memory.

    .venv/bin/python bench/transcribe.py [--model base] [--rounds 2]

Needs ../shared/corpus (built with audio: espeak-ng and ffmpeg).
"""
import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import pipeline  # noqa: E402,F401  (sets ORT_DISABLE_TELEMETRY first)
from pipeline.asr import load_model  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.download import download  # noqa: E402
from pipeline.feeds import ingest_feed  # noqa: E402
from pipeline.transcribe import episode_prompt, transcribe  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def words(text):
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")).split()


ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
       "sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SPELLING = {"favourite": "favorite", "colour": "color", "behaviour": "behavior", "organisation": "organization",
            "prioritise": "prioritize", "analyse": "analyze", "centre": "center"}


def say_number(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if 1000 < n < 2100 and n % 100:  # a year: 2018 -> twenty eighteen
        return say_number(n // 100) + " " + say_number(n % 100)
    return str(n)


def normalise(tokens):
    """Like Whisper's English normaliser, in small: digits as words, one spelling, no compounds split."""
    out = []
    for t in tokens:
        t = SPELLING.get(t, t)
        out += say_number(int(t)).split() if t.isdigit() else [t]
    return " ".join(out).replace("life cycle", "lifecycle").split()


def wer(reference, hypothesis):
    """Word error rate: word-level edit distance over the reference length."""
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(reference))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="base")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podpipe-bench-"))
    out = tmp / "pm"
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(CORPUS / "interviews"), str(out),
                    "--no-feed-transcripts", "--base-url", out.resolve().as_uri() + "/"], check=True,
                   capture_output=True)
    scripts = {f"pmtalks-{p.stem.split('-')[0]}": yaml.safe_load(p.read_text())
               for p in sorted((CORPUS / "interviews").glob("*.yaml"))}
    audio = sorted((out / "audio").glob("*.mp3"))
    engine = load_model(args.model)  # loaded once; both sides use the same weights and settings
    settings = dict(language=None, vad_filter=True, beam_size=5, word_timestamps=False,
                    condition_on_previous_text=False)

    # the bare call gets the same prompt the pipeline builds from the feed's people
    db = open_db(tmp / "prompts.db")
    ingest_feed(db, str(out / "feed.xml"))
    prompts = {ep["enclosure_url"].rsplit("/", 1)[1]: episode_prompt(db, ep) for ep in db.query("select * from episodes")}
    bare_times, pipe_times = [], []
    for r in range(args.rounds):
        t = time.perf_counter()
        for path in audio:
            segments, _ = engine.impl.transcribe(str(path), initial_prompt=prompts[path.name], **settings)
            list(segments)
        bare_times.append(time.perf_counter() - t)

        db = open_db(tmp / f"round{r}.db")
        ingest_feed(db, str(out / "feed.xml"))
        download(db, audio_dir=tmp / f"audio{r}")
        t = time.perf_counter()
        result = transcribe(db, model=args.model, transcripts_dir=tmp / f"t{r}")
        pipe_times.append(time.perf_counter() - t)
        assert result["whisper"] == len(audio), result

    total_audio = sum(r["audio_duration"] for r in db.query("select audio_duration from transcripts"))
    rates = []
    for ep in db.query("select e.id, e.guid from episodes e"):
        hyp = " ".join(r["text"] for r in db.query(
            "select s.text from segments s join transcripts t on t.id = s.transcript_id "
            "where t.episode_id = ? order by s.idx", [ep["id"]]))
        ref = " ".join(turn["text"] for turn in scripts[ep["guid"]]["turns"])
        rates.append((ep["guid"], wer(words(ref), words(hyp)), len(words(ref)),
                      wer(normalise(words(ref)), normalise(words(hyp)))))
    bare, pipe = min(bare_times), min(pipe_times)
    print(f"audio: {len(audio)} episodes, {total_audio:.1f} s; model {engine.model}; best of {args.rounds} rounds")
    print(f"bare faster-whisper:      {bare:.2f} s (real-time factor {bare / total_audio:.3f})")
    print(f"podpipe transcribe stage: {pipe:.2f} s (real-time factor {pipe / total_audio:.3f})")
    print(f"pipeline overhead: {pipe / bare:.3f}x (target <= 1.05x)")
    for guid, rate, n, norm in rates:
        print(f"WER {guid}: {rate:.3f}, normalised {norm:.3f} ({n} reference words)")
    words_total = sum(r[2] for r in rates)
    overall = sum(r[1] * r[2] for r in rates) / words_total
    normalised = sum(r[3] * r[2] for r in rates) / words_total
    print(f"WER overall: {overall:.3f}, normalised (numbers as words, US spelling) {normalised:.3f} "
          f"(target <= 0.10 with base)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    try:
        import whisper  # noqa: F401
        print("openai-whisper is installed: compare with `podpipe transcribe --engine openai-whisper`")
    except ImportError:
        print("openai-whisper: not installed, not compared")


if __name__ == "__main__":
    main()
