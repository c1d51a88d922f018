#!/usr/bin/env python3
"""Regenerate the bundled demo podcast in feeds/demo/.

    python scripts/make_demo.py              # writes feeds/demo/
    python scripts/make_demo.py --out DIR    # somewhere else

Three short scripted product-management interviews are spoken by espeak-ng
(one voice for the host, another for each guest), joined with short silences
and encoded as small mono MP3s. The script writes:

    feed.xml                 RSS 2.0 with itunes: and podcast: tags, relative URLs
    audio/ID.mp3             one file per episode
    transcripts/ID.vtt       the publisher transcript of episode 1 (<v Speaker> cues)
    chapters/ID.json         Podcasting 2.0 chapters of episode 3

Cue, chapter and soundbite times are measured from the synthesised audio, and
itunes:duration and the enclosure length from the encoded MP3, so the feed always
matches its files. Apart from the encoder, the output is deterministic.
Needs espeak-ng, ffmpeg and ffprobe on PATH.
"""
import argparse
import array
import json
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import wave
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"

SHOW = {
    "title": "Product People: demo interviews",
    "link": "https://example.com/product-people/",
    "description": "Short interviews with product managers about the work and how to get into it. "
                   "A synthetic demo feed bundled with podpipe.",
    "author": "Product People",
    "image": "cover.jpg",  # relative and absent on purpose: the pipeline must cope
    # podcast:guid is a UUIDv5 of the feed URL (without scheme) in the namespace
    # the Podcasting 2.0 spec fixes; this URL is only a stable made-up name.
    "guid_url": "example.com/product-people/feed.xml",
}
HOST = {"name": "Owen Hartley", "voice": "en-us",
        "href": "https://example.com/product-people/host", "img": "images/owen-hartley.jpg"}

RATE_WPM = 170
SENTENCE_GAP = 0.25  # silence between sentences of one turn
TURN_GAP = 0.6       # silence when the speaker changes (a turn may continue the same speaker)
LEAD_IN = 0.3
TAIL = 0.5
MP3_RATE = 16000
MP3_BITRATE = "24k"

# Written form -> what espeak-ng should say (the transcript keeps the written form).
PRONOUNCE = {"#BUILTBYGIRLS": "Built By Girls"}

# Each turn is (speaker, text) or (speaker, text, marks); marks may name a
# chapter starting at the turn or a soundbite covering it.
EPISODES = [
    {
        "id": "pp01-corie-miller",
        "number": 1,
        "title": "Customers and the business, with Corie Miller",
        "published": "2025-03-04T09:00:00+00:00",
        "summary": "Corie Miller, Product Manager at #BUILTBYGIRLS, on what product management "
                   "is about and why you don't need a computer science degree to do it.",
        "transcript": True,
        "guest": {
            "name": "Corie Miller", "title": "Product Manager", "organization": "#BUILTBYGIRLS",
            "voice": "en-us+f3",
            "href": "https://example.com/product-people/guests/corie-miller",
            "img": "images/corie-miller.jpg",
        },
        "turns": [
            ("host", "Welcome to the show. My guest today is Corie Miller, Product Manager at #BUILTBYGIRLS. "
                     "Corie, what is the job really about?"),
            ("guest", "Product management is about customers. It's about the business. "
                      "It's about solving problems and making things work. "
                      "Product managers are wrong a lot, but we look to the customers to find a better path."),
            ("host", "You studied physics. Do people need a computer science degree?"),
            ("guest", "Not at all. You don't need a computer science background to get into product management. "
                      "You should, however, be willing to learn some fundamental technical skills."),
            ("host", "Corie Miller, thank you. See you next time."),
        ],
    },
    {
        "id": "pp02-daniel-okoro",
        "number": 2,
        "title": "Roadmaps are bets, with Daniel Okoro",
        "published": "2025-03-18T09:00:00+00:00",
        "summary": "Daniel Okoro, Product Lead at Ledgerline, a payments app for small businesses, "
                   "on planning roadmaps and staying close to customers.",
        "guest": {
            "name": "Daniel Okoro", "title": "Product Lead", "organization": "Ledgerline",
            "voice": "en-gb-x-rp+m7",
            "href": "https://example.com/product-people/guests/daniel-okoro",
            "img": "images/daniel-okoro.jpg",
        },
        "turns": [
            ("host", "Welcome to the show. My guest today is Daniel Okoro, Product Lead at Ledgerline. "
                     "Daniel, how do you plan a roadmap?"),
            ("guest", "Well, honestly, it changes every quarter."),
            ("guest", "A roadmap is a list of bets, not a list of promises.",
             {"soundbite": "A roadmap is a list of bets"}),
            ("host", "Any advice for new product managers?"),
            ("guest", "Talk to five customers every week, even when you are busy. "
                      "And when the data and the customers disagree, go and find out why."),
            ("host", "Daniel Okoro, thank you. See you next time."),
        ],
    },
    {
        "id": "pp03-priya-raman",
        "number": 3,
        "title": "The product is the API, with Priya Raman",
        "published": "2025-04-01T09:00:00+00:00",
        "summary": "Priya Raman, Technical Product Manager at Relaykit, a developer platform for "
                   "webhooks, on what makes the role technical and how engineers come to trust a PM.",
        "guest": {
            "name": "Priya Raman", "title": "Technical Product Manager", "organization": "Relaykit",
            "voice": "en-gb-x-rp+f2",
            "href": "https://example.com/product-people/guests/priya-raman",
            "img": "images/priya-raman.jpg",
        },
        "turns": [
            ("host", "Welcome to the show. My guest today is Priya Raman, Technical Product Manager at Relaykit. "
                     "Priya, what makes the role technical?", {"chapter": "Introduction"}),
            ("guest", "My customers are developers, so the product is the API. "
                      "I spend half my week reading code reviews and incident reports.",
             {"chapter": "What a technical PM does"}),
            ("host", "What would you tell someone starting out?", {"chapter": "Advice"}),
            ("guest", "Write down what done looks like before the first ticket is created. "
                      "Engineers trust a product manager who knows what they don't know."),
            ("host", "Priya Raman, thank you. See you next time.", {"chapter": "Goodbye"}),
        ],
    },
]

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text):
    return [s for s in SENTENCE_END.split(text.strip()) if s]


def spoken(text):
    for written, said in PRONOUNCE.items():
        text = text.replace(written, said)
    return text


# --- audio --------------------------------------------------------------------

def synthesise(text, voice, path):
    """Speak one sentence to a WAV and return its samples (16-bit mono) and rate."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(RATE_WPM), "-w", str(path), spoken(text)],
                   check=True, capture_output=True)
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, "espeak-ng should write 16-bit mono"
        samples = array.array("h", w.readframes(w.getnframes()))
        return samples, w.getframerate()


def trim(samples, rate, threshold=300, margin=0.03):
    """Drop the silence espeak-ng leaves around a clip, so cue times hug the speech."""
    loud = [i for i in range(0, len(samples), 64) if abs(samples[i]) > threshold]
    if not loud:
        return samples
    pad = int(rate * margin)
    return samples[max(0, loud[0] - pad):min(len(samples), loud[-1] + 64 + pad)]


def build_episode_audio(ep, work):
    """Synthesise an episode into one WAV; return (wav path, cues, turn spans)."""
    # We join the clips and silences ourselves instead of with ffmpeg's concat:
    # every sample is counted, so the cue times are exact; ffmpeg only encodes.
    voices = {"host": HOST["voice"], "guest": ep["guest"]["voice"]}
    names = {"host": HOST["name"], "guest": ep["guest"]["name"]}
    pcm, rate = array.array("h"), None
    cues, turns = [], []
    previous_speaker = None

    def pad(seconds):
        pcm.extend(array.array("h", bytes(2 * int(rate * seconds))))

    for t, turn in enumerate(ep["turns"]):
        speaker, text = turn[0], turn[1]
        marks = turn[2] if len(turn) > 2 else {}
        turn_start = None
        for s, sentence in enumerate(split_sentences(text)):
            clip, clip_rate = synthesise(sentence, voices[speaker], work / f"{t:02d}-{s:02d}.wav")
            if rate is None:
                rate = clip_rate
                pad(LEAD_IN)
            elif clip_rate != rate:
                raise SystemExit(f"espeak-ng voices disagree on sample rate ({clip_rate} vs {rate})")
            else:
                pad(TURN_GAP if s == 0 and speaker != previous_speaker else SENTENCE_GAP)
            clip = trim(clip, rate)
            start = len(pcm) / rate
            pcm.extend(clip)
            end = len(pcm) / rate
            turn_start = start if turn_start is None else turn_start
            cues.append({"speaker": names[speaker], "text": sentence, "start": start, "end": end})
        turns.append({"start": turn_start, "end": cues[-1]["end"], "marks": marks})
        previous_speaker = speaker
    pad(TAIL)
    wav = work / "episode.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return wav, cues, turns


def encode_mp3(wav, mp3):
    # bitexact and no metadata keep the files free of encoder version strings
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav),
                    "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                    "-ac", "1", "-ar", str(MP3_RATE), "-c:a", "libmp3lame", "-b:a", MP3_BITRATE,
                    str(mp3)], check=True)


def probe_duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "default=noprint_wrappers=1:nokey=1", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


# --- side files -----------------------------------------------------------------

def vtt_timestamp(seconds):
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def write_vtt(cues, path):
    blocks = ["WEBVTT"]
    for n, c in enumerate(cues, 1):
        blocks.append(f"{n}\n{vtt_timestamp(c['start'])} --> {vtt_timestamp(c['end'])}\n"
                      f"<v {c['speaker']}>{c['text']}")
    path.write_text("\n\n".join(blocks) + "\n")


def write_chapters(turns, path):
    marked = [t for t in turns if "chapter" in t["marks"]]
    # the first chapter starts at zero, so the lead-in silence belongs to it
    chapters = [{"startTime": round(t["start"], 2) if n else 0, "title": t["marks"]["chapter"]}
                for n, t in enumerate(marked)]
    path.write_text(json.dumps({"version": "1.2.0", "chapters": chapters}, indent=2) + "\n")


# --- feed -------------------------------------------------------------------------

def sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = str(text)
    return el


def it(name):
    return f"{{{ITUNES}}}{name}"


def pc(name):
    return f"{{{PODCAST}}}{name}"


def build_feed(items):
    ET.register_namespace("itunes", ITUNES)
    ET.register_namespace("podcast", PODCAST)
    rss = ET.Element("rss", {"version": "2.0"})
    ch = sub(rss, "channel")
    sub(ch, "title", SHOW["title"])
    sub(ch, "link", SHOW["link"])
    sub(ch, "language", "en")
    sub(ch, "description", SHOW["description"])
    sub(ch, it("author"), SHOW["author"])
    sub(ch, it("image"), href=SHOW["image"])
    sub(ch, it("category"), text_="Business")
    sub(ch, it("explicit"), "false")
    podcast_ns = uuid.UUID("ead4c236-bf58-58c6-a2c6-a0b6f0e3d4c3")
    sub(ch, pc("guid"), uuid.uuid5(podcast_ns, SHOW["guid_url"]))
    sub(ch, pc("person"), HOST["name"], role="host", href=HOST["href"], img=HOST["img"])

    for ep, info in items:
        g = ep["guest"]
        item = sub(ch, "item")
        sub(item, "title", ep["title"])
        sub(item, "guid", f"product-people-{ep['id']}", isPermaLink="false")
        sub(item, "pubDate", format_datetime(datetime.fromisoformat(ep["published"]).astimezone(timezone.utc)))
        sub(item, "description", ep["summary"])
        sub(item, it("duration"), info["duration"])
        sub(item, it("episode"), ep["number"])
        sub(item, it("season"), 1)
        sub(item, it("episodeType"), "full")
        sub(item, it("explicit"), "false")
        sub(item, "enclosure", url=f"audio/{ep['id']}.mp3", length=info["bytes"], type="audio/mpeg")
        sub(item, pc("person"), HOST["name"], role="host", href=HOST["href"], img=HOST["img"])
        sub(item, pc("person"), g["name"], role="guest", href=g["href"], img=g["img"])
        if ep.get("transcript"):
            sub(item, pc("transcript"), url=f"transcripts/{ep['id']}.vtt", type="text/vtt",
                language="en", rel="captions")
        for t in info["turns"]:
            if "soundbite" in t["marks"]:
                sub(item, pc("soundbite"), t["marks"]["soundbite"],
                    startTime=f"{t['start']:.2f}", duration=f"{t['end'] - t['start']:.2f}")
        if info["chapters"]:
            sub(item, pc("chapters"), url=f"chapters/{ep['id']}.json", type="application/json+chapters")
    ET.indent(rss, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(rss, encoding="unicode") + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=PROJECT / "feeds" / "demo", help="output folder")
    args = ap.parse_args(argv)
    missing = [tool for tool in ("espeak-ng", "ffmpeg", "ffprobe") if not shutil.which(tool)]
    if missing:
        sys.exit(f"make_demo.py needs {', '.join(missing)} (Debian: apt-get install espeak-ng ffmpeg)")
    out = args.out
    for folder in ("audio", "transcripts", "chapters"):
        (out / folder).mkdir(parents=True, exist_ok=True)

    items = []
    for ep in EPISODES:
        mp3 = out / "audio" / f"{ep['id']}.mp3"
        with tempfile.TemporaryDirectory() as tmp:
            wav, cues, turns = build_episode_audio(ep, Path(tmp))
            encode_mp3(wav, mp3)
        has_chapters = any("chapter" in t["marks"] for t in turns)
        if ep.get("transcript"):
            write_vtt(cues, out / "transcripts" / f"{ep['id']}.vtt")
        if has_chapters:
            write_chapters(turns, out / "chapters" / f"{ep['id']}.json")
        seconds = probe_duration(mp3)
        info = {"duration": round(seconds), "bytes": mp3.stat().st_size, "turns": turns,
                "chapters": has_chapters}
        items.append((ep, info))
        print(f"{mp3.relative_to(out)}: {seconds:.2f} s, {info['bytes']:,} bytes")
    (out / "feed.xml").write_text(build_feed(items))
    total = sum(info["bytes"] for _, info in items)
    print(f"{len(items)} episodes, {total:,} bytes of audio -> {out / 'feed.xml'}")


if __name__ == "__main__":
    main()
