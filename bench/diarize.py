"""Speaker attribution accuracy and cost of `podpipe transcribe --diarize`.

Builds the dev corpus (../shared/corpus: three interviews spoken by two
espeak-ng voices) with --no-feed-transcripts into a temporary folder, ingests
and downloads it, transcribes every episode with Whisper (bundled base model)
and diarizes and names the speakers, then scores the result against the
builder's WebVTT, which says who spoke when:

- words: share of Whisper's words whose segment names the person the VTT says
  spoke at that moment (each word is placed by its midpoint);
- time: share of the VTT's speech seconds covered by a segment naming the
  right person (time that no segment covers counts as wrong);
- host lines to guest: VTT host cues whose words mostly went to the guest
  (and the other way round);
- diarize / transcribe: wall seconds of diarization and naming over Whisper's.

A second pass diarizes the same transcripts again as if the feed named nobody
(no podcast:person, no voice prints): the number of speakers is then
estimated, voices stay "unknown", and we score their purity under the best
voice-to-person mapping.

    .venv/bin/python bench/diarize.py [--model base] [--keep DIR]

Needs espeak-ng, ffmpeg and the diarize extra.
"""
import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"

from pipeline import transcript_formats as formats  # noqa: E402
from pipeline.db import open_db  # noqa: E402
from pipeline.download import download  # noqa: E402
from pipeline.feeds import ingest_feed  # noqa: E402


def reference(vtt_path):
    """The builder's cues: [(start, end, speaker)]."""
    parsed = formats.parse(Path(vtt_path).read_bytes(), "vtt")
    return [(s["start"], s["end"], s["speaker"]) for s in parsed["segments"]]


def who_at(cues, t, slack=0.4):
    for s, e, spk in cues:
        if s <= t <= e:
            return spk
    near = min(cues, key=lambda c: min(abs(c[0] - t), abs(c[1] - t)))
    return near[2] if min(abs(near[0] - t), abs(near[1] - t)) <= slack else None


def score(segments, cues, host, guest, rename=None):
    """Accuracy of segments' speakers against the cues; rename maps output names first."""
    rename = rename or {}
    words = right = 0
    per_cue = [dict() for _ in cues]
    for seg in segments:
        spk = rename.get(seg["speaker"], seg["speaker"])
        for w in json.loads(seg["words"] or "[]") or [{"start": seg["start"], "end": seg["end"]}]:
            mid = (w["start"] + w["end"]) / 2
            truth = who_at(cues, mid)
            if truth is None:
                continue
            words += 1
            right += spk == truth
            for i, (s, e, _) in enumerate(cues):
                if s - 0.4 <= mid <= e + 0.4:
                    per_cue[i][spk] = per_cue[i].get(spk, 0) + 1
    total = sum(e - s for s, e, _ in cues)
    covered = 0.0
    for s, e, truth in cues:
        for seg in segments:
            if rename.get(seg["speaker"], seg["speaker"]) == truth:
                covered += max(0.0, min(e, seg["end"]) - max(s, seg["start"]))
    host_to_guest = sum(1 for (_, _, truth), got in zip(cues, per_cue)
                        if truth == host and got and max(got, key=got.get) == guest)
    guest_to_host = sum(1 for (_, _, truth), got in zip(cues, per_cue)
                        if truth == guest and got and max(got, key=got.get) == host)
    return {"words": words, "word_acc": right / words if words else 0.0, "time_acc": covered / total,
            "host_cues": sum(1 for c in cues if c[2] == host), "host_to_guest": host_to_guest,
            "guest_to_host": guest_to_host}


def segments_of(db, episode_id):
    return list(db.query("select s.start, s.end, s.text, s.speaker, s.speaker_label, s.words from segments s "
                         "join transcripts t on t.id = s.transcript_id where t.episode_id = ? order by s.idx",
                         [episode_id]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="base")
    ap.add_argument("--keep", help="build into this folder and keep it")
    args = ap.parse_args()
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        sys.exit("needs espeak-ng and ffmpeg")
    from pipeline import diarize
    from pipeline.asr import load_model
    from pipeline.speakers import diarize_episode, pending_diarizations
    from pipeline.transcribe import transcribe_episode

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-diarize-"))
    out = work / "corpus"
    subprocess.run([sys.executable, str(CORPUS / "build.py"), str(CORPUS / "interviews"), str(out),
                    "--no-feed-transcripts", "--base-url", out.resolve().as_uri() + "/"],
                   check=True, capture_output=True)
    db = open_db(work / "bench.db")
    ingest_feed(db, str(out / "feed.xml"))
    download(db, audio_dir=work / "audio")

    t = time.perf_counter()
    load_model(args.model)
    whisper_load = time.perf_counter() - t
    t = time.perf_counter()
    diarize.load_encoder()
    encoder_load = time.perf_counter() - t
    print(f"model load: Whisper {args.model} {whisper_load:.1f} s, voice encoder {encoder_load:.1f} s (once per process)")

    episodes = list(db.query("select e.*, f.title as feed_title from episodes e join feeds f on f.id = e.feed_id "
                             "order by e.published"))
    rows, totals = [], {"words": 0, "right": 0, "time": 0.0, "time_total": 0.0, "h2g": 0, "g2h": 0,
                        "host_cues": 0, "whisper_s": 0.0, "diarize_s": 0.0, "audio_s": 0.0}
    print(f"\n{'episode':8} {'audio s':>7} {'whisper s':>9} {'diarize s':>9} {'ratio':>6} {'words':>6} "
          f"{'word acc':>8} {'time acc':>8} {'host->guest':>11} {'guest->host':>11}  naming")
    for ep in episodes:
        guid = ep["guid"].split("-")[-1]
        people = {r["role"]: r["name"] for r in db.query(
            "select ep.role, p.name from episode_people ep join people p on p.id = ep.person_id "
            "where ep.episode_id = ?", [ep["id"]])}
        _, source, info = transcribe_episode(db, ep, model=args.model, diarize=True,
                                             transcripts_dir=work / "transcripts")
        cues = reference(out / "transcripts" / f"{guid}.vtt")
        r = score(segments_of(db, ep["id"]), cues, people["host"], people["guest"])
        naming = "; ".join(f"{x['label']}={x['name'] or 'unknown'} {x['confidence']:.2f} {x['method']}"
                           for x in db.query("select * from speaker_labels where episode_id = ? order by label",
                                             [ep["id"]]))
        ratio = info["diarize_seconds"] / info["seconds"]
        print(f"{guid:8} {info['duration']:7.1f} {info['seconds']:9.1f} {info['diarize_seconds']:9.2f} "
              f"{ratio:6.3f} {r['words']:6} {r['word_acc']:8.1%} {r['time_acc']:8.1%} "
              f"{r['host_to_guest']:>5}/{r['host_cues']:<5} {r['guest_to_host']:>11}  {naming}")
        rows.append({"episode": guid, **info, **r, "naming": naming})
        totals["words"] += r["words"]
        totals["right"] += round(r["word_acc"] * r["words"])
        ref_total = sum(e - s for s, e, _ in cues)
        totals["time"] += r["time_acc"] * ref_total
        totals["time_total"] += ref_total
        totals["h2g"] += r["host_to_guest"]
        totals["g2h"] += r["guest_to_host"]
        totals["host_cues"] += r["host_cues"]
        totals["whisper_s"] += info["seconds"]
        totals["diarize_s"] += info["diarize_seconds"]
        totals["audio_s"] += info["duration"]
    print(f"{'overall':8} {totals['audio_s']:7.1f} {totals['whisper_s']:9.1f} {totals['diarize_s']:9.2f} "
          f"{totals['diarize_s'] / totals['whisper_s']:6.3f} {totals['words']:6} "
          f"{totals['right'] / totals['words']:8.1%} {totals['time'] / totals['time_total']:8.1%} "
          f"{totals['h2g']:>5}/{totals['host_cues']:<5} {totals['g2h']:>11}")
    print(f"real-time factors: Whisper {totals['whisper_s'] / totals['audio_s']:.3f}, "
          f"diarization {totals['diarize_s'] / totals['audio_s']:.3f}")

    # pass 2: the feed names nobody and no voice print is known
    db.execute("delete from episode_people")
    db.execute("delete from voiceprints")
    db.execute("delete from speaker_labels")
    print("\nwithout podcast:person or voice prints (speakers estimated, names unknown):")
    for ep in pending_diarizations(db, force=True):
        guid = ep["guid"].split("-")[-1]
        t = time.perf_counter()
        labels = diarize_episode(db, ep)
        seconds = time.perf_counter() - t
        cues = reference(out / "transcripts" / f"{guid}.vtt")
        names = sorted({c[2] for c in cues})
        segs = [{**s, "speaker": s["speaker_label"]} for s in segments_of(db, ep["id"])]
        found = sorted({s["speaker"] for s in segs if s["speaker"]})
        best = max((score(segs, cues, names[0], names[1], dict(zip(found, perm)))
                    for perm in itertools.permutations(names + [None] * len(found), len(found))),
                   key=lambda r: r["word_acc"])
        print(f"  {guid}: {len(labels)} speakers found, names {sorted({x['name'] or 'unknown' for x in labels})}, "
              f"purity {best['word_acc']:.1%} of words, {seconds:.2f} s")


if __name__ == "__main__":
    main()
