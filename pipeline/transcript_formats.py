"""Transcript formats: WebVTT, SRT, Podcasting 2.0 JSON and HTML, plain text and
Markdown with YAML front matter, read into one list of segments and written back.

A segment is a plain dict::

    {"start": 12.5, "end": 15.0, "text": "Hello.", "speaker": "Lenny"}

Times are seconds (rounded to the millisecond) or None, speaker is a string or
None. Nothing here touches the database or the network.
"""
import datetime
import functools
import html
import itertools
import json
import math
import re
from html.parser import HTMLParser

import yaml

from .errors import PodpipeError

FORMATS = ("vtt", "srt", "json", "html", "txt", "md")

# text/plain is left out on purpose: servers label all sorts of files so, and
# plain text is what sniffing falls back to anyway.
CONTENT_TYPES = {"text/vtt": "vtt", "application/x-subrip": "srt", "application/srt": "srt",
                 "text/srt": "srt", "application/json": "json", "text/html": "html",
                 "text/markdown": "md", "text/x-markdown": "md"}
EXTENSIONS = {"vtt": "vtt", "srt": "srt", "json": "json", "html": "html", "htm": "html",
              "txt": "txt", "md": "md", "markdown": "md"}

TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
TIMING_LINE = re.compile(rf"^\s*({TIME})\s*-->\s*({TIME})(?:\s.*)?$")
VOICE = re.compile(r"<v(?:\.[^\s>]*)*(?:\s+([^>]*))?>")
# Only things that look like tags, so a bare "x < y" in cue text survives.
TAG = re.compile(r"</?[A-Za-z][^>]*>|<\d[^>]*>|\{\\[^}]*\}")
SPEAKER_PREFIX = re.compile(r"^([^\s:][^:\n]{0,40}?):\s+(.*)$", re.S)
NAME_PARTICLES = {"al", "bin", "da", "das", "de", "del", "der", "di", "dos", "du", "la", "le", "van", "von", "y"}
MD_TURN = re.compile(r"^(?:(?P<speaker>[^()\n]{1,80}?)\s+)?\((?P<time>\d+(?::\d{2}){1,2}(?:\.\d+)?)\):\s*(?P<text>.*)$")
HEADING = re.compile(r"^#{1,6}\s")
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


class TranscriptFormatError(PodpipeError, ValueError):
    """The input is not a transcript in the stated format, or holds no segments."""


def _decode(data):
    if isinstance(data, bytes):
        data = data.decode("utf-8-sig", errors="replace")
    data = data.lstrip("\ufeff")
    # most files have no carriage returns, and looking costs a tenth of replacing
    return data.replace("\r\n", "\n").replace("\r", "\n") if "\r" in data else data


# control characters that text files do not hold (tab, newlines and form feed aside)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0e, 0x20), 0x7f])
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


def text_of(data):
    """The text of a transcript file, or TranscriptFormatError when the bytes
    are not text (a binary file, random bytes, audio named .txt).

    UTF-8 is what we expect (a few bytes that are not become U+FFFD); a
    byte-order mark gives UTF-16 or UTF-32.
    """
    if isinstance(data, str):
        return data
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    text = data.decode(encoding or "utf-8-sig", errors="replace")
    if encoding:
        controls = len(_CONTROL.findall(text))
    else:
        # In UTF-8 these characters are these single bytes, never part of a longer
        # sequence (a broken one ends before them), and bytes.translate counts
        # them in a sixth of the regex's time.
        controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if (controls > max(1, len(text) // 100) or "\x00" in text
            or text.count("\ufffd") > max(2, len(text) // 3)):
        raise TranscriptFormatError("not a text file (binary data); expected a transcript in VTT, SRT, "
                                    "JSON, HTML, text or Markdown")
    return text


@functools.lru_cache(maxsize=1 << 14)  # Markdown turns are stamped to the second: the same few thousand
def _seconds(stamp):
    """Seconds from "hh:mm:ss.mmm", "mm:ss,mmm", "0:00" and the like."""
    seconds = 0.0
    for part in stamp.strip().replace(",", ".").split(":"):
        seconds = seconds * 60 + float(part)
    return round(seconds, 3)


# A cue's end is the next one's start, and imported transcripts are stamped to
# the second: an hour is 7,200 stamps in two formats, which a cache of 4,096
# cycled through without a hit.
@functools.lru_cache(maxsize=1 << 14)
def _stamp(seconds, sep="."):
    ms = round((seconds or 0) * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _clean(text):
    """Cue text without tags or entities, whitespace collapsed to single spaces."""
    return " ".join(html.unescape(TAG.sub("", text)).split())


def _is_name(name):
    """A short capitalised name: "Lenny", "Eeke de Milliano", "Speaker 2", "Zoë O'Neil"."""
    def capital(word):
        return word[0].isalpha() and not word[0].islower()
    words = name.split()
    return (1 <= len(words) <= 4 and capital(words[0])
            and all(capital(w) or w.isdigit() or w in NAME_PARTICLES for w in words))


def split_speaker(text):
    """Split a leading "Name: " off text; returns (speaker or None, rest)."""
    m = SPEAKER_PREFIX.match(text)
    if m and _is_name(m.group(1)):
        return m.group(1).strip(), m.group(2).strip()
    return None, text


def _segment(start, end, text, speaker=None):
    return {"start": start, "end": end, "text": text, "speaker": speaker or None}


def _fill_ends(segments, last_end=None):
    """Give each segment with a start but no end the next known start (or
    last_end for the final one), never earlier than its own start."""
    next_start = last_end
    for seg in reversed(segments):
        if seg["end"] is None and seg["start"] is not None:
            # Some transcripts have out-of-order stamps; a negative length helps nobody.
            seg["end"] = seg["start"] if next_start is None else max(seg["start"], next_start)
        if seg["start"] is not None:
            next_start = seg["start"]
    return segments


def detect_format(data, filename=None, content_type=None):
    """Guess the format ("vtt", "srt", "json", "html", "txt" or "md") of a transcript.

    The content type wins, then the file extension, then the content itself.
    """
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in CONTENT_TYPES:
        return CONTENT_TYPES[ctype]
    if filename and "." in filename:
        ext = filename.rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
        if ext in EXTENSIONS:
            return EXTENSIONS[ext]
    head = _decode(data[:4096]).lstrip()
    if head.startswith("WEBVTT"):
        return "vtt"
    if re.match(rf"\d+[ \t]*\n{TIME}\s*-->", head):
        return "srt"
    if head.startswith("{"):
        return "json"
    if head.lower().startswith(("<!doctype html", "<html", "<p", "<cite", "<time", "<body", "<div")):
        return "html"
    if head.startswith("---\n") or re.search(r"^[^\n()]{0,80}\(\d+(?::\d{2}){1,2}\):", head, re.M):
        return "md"
    return "txt"


def parse(data, fmt=None, *, filename=None, content_type=None):
    """Parse a transcript into {"format", "meta", "segments"}.

    fmt is one of FORMATS; when None it is detected from content_type, filename
    and the content. Raises TranscriptFormatError for input that is not in that
    format or has no segments.
    """
    text = _decode(text_of(data))
    fmt = fmt or detect_format(text, filename, content_type)
    if fmt not in PARSERS:
        raise TranscriptFormatError(f"unknown transcript format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not text.strip():
        raise TranscriptFormatError(f"empty {fmt} transcript")
    meta, segments = PARSERS[fmt](text)
    if not segments:
        raise TranscriptFormatError(f"no segments found in {fmt} transcript")
    return {"format": fmt, "meta": meta, "segments": segments}


def _timing(line, fmt):
    m = TIMING_LINE.match(line)
    if not m:
        raise TranscriptFormatError(f"bad {fmt} cue timing {line.strip()[:60]!r}; expected 'start --> end'")
    return _seconds(m.group(1)), _seconds(m.group(2))


def _parse_vtt(text):
    if not text.startswith("WEBVTT"):
        raise TranscriptFormatError("not a WebVTT file: it does not start with 'WEBVTT'")
    segments = []
    for block in re.split(r"\n[ \t]*\n", text)[1:]:
        lines = block.strip("\n").split("\n")
        if not lines[0] or lines[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION"):
            continue
        timing = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing is None:
            raise TranscriptFormatError(f"WebVTT block without a cue timing line: {lines[0][:60]!r}")
        start, end = _timing(lines[timing], "WebVTT")
        raw = " ".join(lines[timing + 1:])
        voice = VOICE.search(raw)
        speaker = html.unescape(voice.group(1) or "").strip() if voice else None
        segments.append(_segment(start, end, _clean(raw), speaker))
    return {}, segments


def _parse_srt(text):
    segments = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        lines = block.strip("\n").split("\n")
        timing = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if timing is None:
            if not segments:
                raise TranscriptFormatError(f"not an SRT file: no 'start --> end' line near {lines[0][:60]!r}")
            # A stray blank line inside a subtitle: the text belongs to the cue before.
            segments[-1]["text"] += " " + _clean(block)
            continue
        start, end = _timing(lines[timing], "SRT")
        speaker, body = split_speaker(_clean(" ".join(lines[timing + 1:])))
        segments.append(_segment(start, end, body, speaker))
    return {}, segments


def _parse_json(text):
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise TranscriptFormatError(f"not valid JSON: {e}") from None
    items = doc.get("segments") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise TranscriptFormatError("not a Podcasting 2.0 JSON transcript: no 'segments' list")
    segments = []
    for item in items:
        if not isinstance(item, dict) or "body" not in item:
            raise TranscriptFormatError(f"JSON transcript segment without a 'body': {str(item)[:60]}")
        try:
            start, end = (None if item.get(key) in (None, "") else round(float(item[key]), 3)
                          for key in ("startTime", "endTime"))
        except (TypeError, ValueError):
            raise TranscriptFormatError(f"JSON transcript segment with a non-numeric time: {str(item)[:60]}") from None
        speaker = str(item.get("speaker") or "").strip()
        segments.append(_segment(start, end, " ".join(str(item["body"]).split()), speaker))
    meta = {k: v for k, v in doc.items() if k != "segments"}
    return meta, _fill_ends(segments)


class _TranscriptHTML(HTMLParser):
    """Collects <cite>Speaker:</cite> <time>0:00</time> <p>text</p> runs."""

    FIELDS = ("cite", "time", "p")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.segments, self.speaker, self.time, self.seen_cite = [], None, None, False
        self.open, self.skip = [], 0  # open fields as [tag, text parts], innermost last

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.FIELDS:
            if tag == "p" and any(t == "p" for t, _ in self.open):
                self.handle_endtag("p")  # <p> closes an open <p>, as in HTML
            self.open.append([tag, []])
        elif tag == "br" and self.open:
            self.open[-1][1].append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        if tag not in self.FIELDS or not any(t == tag for t, _ in self.open):
            return
        while self.open:
            name, parts = self.open.pop()
            if name == tag:
                break
        value = " ".join("".join(parts).split())
        if tag == "cite":
            self.speaker, self.seen_cite = value.rstrip(":").strip() or None, True
        elif tag == "time":
            self.time = _seconds(value) if re.fullmatch(TIME, value) else None
        elif value:
            speaker = self.speaker
            if not self.seen_cite:
                speaker, value = split_speaker(value)
            self.segments.append(_segment(self.time, None, value, speaker))
            self.time = None

    def handle_data(self, data):
        if self.open and not self.skip:
            self.open[-1][1].append(data)

    def close(self):
        super().close()
        if any(t == "p" for t, _ in self.open):
            self.handle_endtag("p")


def _parse_html(text):
    parser = _TranscriptHTML()
    parser.feed(text)
    parser.close()
    return {}, _fill_ends(parser.segments)


def _paragraph_segments(text, skip_headings=False):
    segments = []
    for para in re.split(r"\n[ \t]*\n", text):
        lines = [line for line in para.split("\n")
                 if line.strip() and not (skip_headings and HEADING.match(line))]
        if lines:
            speaker, body = split_speaker(" ".join(" ".join(lines).split()))
            segments.append(_segment(None, None, body, speaker))
    return segments


# libyaml's safe loader when PyYAML was built with it: the pure-Python one was
# most of an import's parsing time
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_md(text):
    meta, body = {}, text
    m = FRONT_MATTER.match(text)
    if m:
        try:
            meta = yaml.load(m.group(1), Loader=SAFE_LOADER) or {}
        except yaml.YAMLError as e:
            raise TranscriptFormatError(f"bad YAML front matter: {str(e).splitlines()[0]}") from None
        if not isinstance(meta, dict):
            raise TranscriptFormatError("YAML front matter is not a mapping")
        # Dates become ISO strings so that meta can go straight into JSON.
        meta = {k: v.isoformat() if isinstance(v, datetime.date) else v for k, v in meta.items()}
        body = text[m.end():]
    segments, speaker = [], None
    for line in body.split("\n"):
        stripped = line.strip()
        if not stripped:  # every other line is blank
            continue
        turn = MD_TURN.match(stripped)
        if turn:
            name, stamp, said = turn.groups()  # (speaker, time, text); a name is never empty
            speaker = name or speaker
            segments.append({"start": _seconds(stamp), "end": None, "text": said, "speaker": speaker})
        elif segments and not HEADING.match(line):
            segments[-1]["text"] = f"{segments[-1]['text']} {stripped}".strip()
    if not segments:
        segments = _paragraph_segments(body, skip_headings=True)
    try:
        duration = float(meta.get("duration_seconds"))
    except (TypeError, ValueError):
        duration = None
    return meta, _fill_ends(segments, duration)


PARSERS = {"vtt": _parse_vtt, "srt": _parse_srt, "json": _parse_json,
           "html": _parse_html, "txt": lambda text: ({}, _paragraph_segments(text)), "md": _parse_md}


def _one_line(text):
    """Text with its whitespace collapsed to single spaces."""
    if text and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        # Already one line (most are): every whitespace character but the
        # space is unprintable, and these checks cost a third of split and join.
        return text
    return " ".join((text or "").split())


def _timed(segments):
    """[(start, end, text, speaker)] with every time known: a missing start is the
    previous end (or 0), a missing end the next start (or the start); the text
    on one line. (On tuples, with a short way for the usual case: this runs for
    every file we write.)"""
    starts = [s.get("start") for s in segments]
    ends = [s.get("end") for s in segments]
    texts = [_one_line(s.get("text")) for s in segments]
    speakers = [s.get("speaker") or None for s in segments]
    if None not in starts and None not in ends:  # parsers fill the times in where they can
        return list(zip(starts, ends, texts, speakers))
    ends = [seg["end"] for seg in _fill_ends([{"start": s, "end": e} for s, e in zip(starts, ends)])]
    out, previous_end = [], 0.0
    for start, end, text, speaker in zip(starts, ends, texts, speakers):
        start = start if start is not None else previous_end
        end = previous_end = end if end is not None else start
        out.append((start, end, text, speaker))
    return out


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments, timed=None):
    """WebVTT, one cue per segment, with <v Speaker> when the speaker is known.
    (timed: _timed(segments), when the caller has it already.)"""
    voices = {None: ""}  # a transcript has a few speakers and many turns
    out = ["WEBVTT", ""]
    for start, end, text, speaker in timed or _timed(segments):
        voice = voices.get(speaker)
        if voice is None:
            voice = voices[speaker] = f"<v {_escape(speaker)}>"
        out += [f"{_stamp(start)} --> {_stamp(end)}", voice + _escape(text), ""]
    return "\n".join(out)


def to_srt(segments, timed=None):
    """SRT, one subtitle per segment, text prefixed "Speaker: " when known."""
    out = []
    for i, (start, end, text, speaker) in enumerate(timed or _timed(segments), 1):
        out += [str(i), f"{_stamp(start, ',')} --> {_stamp(end, ',')}",
                f"{speaker}: {text}" if speaker else text, ""]
    return "\n".join(out)


_json_str = json.encoder.encode_basestring  # ensure_ascii=False, as before


def _json_number(value):
    """A time as json.dumps writes it (float.__repr__ also for numpy's float64, whose repr is not JSON)."""
    if type(value) is float and value - value == 0:  # finite: most times, tested first without calls
        return float.__repr__(value)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    return str(value) if type(value) is int else json.dumps(value)


def to_json(segments, timed=None):
    """Podcasting 2.0 JSON transcript: {"version": "1.0.0", "segments": [...]}."""
    # One segment a line, written by hand around json's C string encoder: the
    # indenting encoder is pure Python and was a third of a transcript import.
    # Times are numbers (ints or floats), which json writes as repr() does.
    heads = {None: "{"}  # each speaker's opening, encoded once
    lines = []
    for start, end, text, speaker in timed or _timed(segments):
        head = heads.get(speaker)
        if head is None:
            head = heads[speaker] = f'{{"speaker": {_json_str(speaker)}, '
        # A body without quotes, backslashes or control characters (unprintable)
        # is its own JSON string; most are, and these checks cost less than the encoder.
        quoted = f'"{text}"' if '"' not in text and "\\" not in text and text.isprintable() else _json_str(text)
        lines.append(f'{head}"startTime": {_json_number(start)}, "endTime": {_json_number(end)}, "body": {quoted}}}')
    body = "[\n    " + ",\n    ".join(lines) + "\n  ]" if lines else "[]"
    return '{\n  "version": "1.0.0",\n  "segments": ' + body + "\n}\n"


def to_txt(segments, timed=None):
    """Plain text, one "Speaker: text" paragraph per speaker turn."""
    paragraphs = []
    for speaker, turn in itertools.groupby(timed or _timed(segments), key=lambda seg: seg[3]):
        body = " ".join(filter(None, (text for _, _, text, _ in turn)))
        paragraphs.append(f"{speaker}: {body}" if speaker else body)
    return "\n\n".join(paragraphs) + "\n"


WRITERS = {"vtt": to_vtt, "srt": to_srt, "json": to_json, "txt": to_txt}


def write(segments, fmt):
    """Segments as a transcript in fmt: "vtt", "srt", "json" or "txt"."""
    if fmt not in WRITERS:
        raise TranscriptFormatError(f"cannot write {fmt!r}; expected one of {', '.join(WRITERS)}")
    return WRITERS[fmt](segments)


def write_all(segments, fmts):
    """{fmt: text} for several formats, the segments' times filled in once for all."""
    for fmt in fmts:
        if fmt not in WRITERS:
            raise TranscriptFormatError(f"cannot write {fmt!r}; expected one of {', '.join(WRITERS)}")
    timed = _timed(segments)
    return {fmt: WRITERS[fmt](segments, timed) for fmt in fmts}
