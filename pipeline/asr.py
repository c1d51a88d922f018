"""Speech to text: load a Whisper engine once, transcribe audio files with it.

Two engines sit behind the same two functions: faster-whisper (CTranslate2,
the default, with bundled weights) and openai-whisper (PyTorch, an optional
extra that must find its weights already on disk).
"""
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PodpipeError
from .models import ModelError, model_label, resolve_model

__all__ = ["AudioError", "Engine", "ModelError", "load_audio", "load_model", "transcribe_audio"]

ENGINES = ("faster-whisper", "openai-whisper")
SAMPLE_RATE = 16000
OPENAI_HINT = "pip install 'podpipe[openai-whisper]'"

# Whisper's own default is True: each 30 s window is decoded with the previous
# window's text as its prompt. Once a window goes wrong that feeds the error
# forward, and the model can loop on one phrase for minutes, the best known
# failure of Whisper on long recordings. Off measured better on our
# two-voice bench (bench/asr_rtf.py, 69 s): word error rate 6.8% -> 6.2%
# (tiny.en) and 6.8% -> 5.1% (base), and 10-30% less decoding time.
CONDITION_ON_PREVIOUS_TEXT = False


class AudioError(PodpipeError, ValueError):
    """An audio file is missing, empty, truncated or cannot be decoded."""


@dataclass(eq=False)
class Engine:
    """A loaded model, ready for ``transcribe_audio``."""
    engine: str  # "faster-whisper" or "openai-whisper"
    model: str  # short label to store with transcripts, e.g. "faster-whisper-base"
    path: str  # what was loaded: a model directory, a .pt file or a Hub name
    impl: object = field(repr=False)  # the library's own model object


_loaded = {}
_lock = threading.Lock()


def load_model(name=None, *, engine="faster-whisper", cache_dir=None, compute_type="int8",
               cpu_threads=0, device="cpu"):
    """Load a Whisper model once per process and return an ``Engine``.

    ``name`` is as for ``pipeline.models.resolve_model`` (default: the bundled
    base model). ``cpu_threads=0`` uses one thread per available core.
    Raises ``ModelError`` with a sentence a user can act on.
    """
    if engine not in ENGINES:
        raise ModelError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    # CTranslate2 defaults to 4 threads whatever the machine; on a 2-core box
    # that oversubscribes, so we ask for exactly what we are allowed to use.
    threads = cpu_threads or available_cores()
    if engine == "openai-whisper":
        whisper = _import_openai_whisper()
        key = (engine, name or "base", device, threads)
    else:
        path = resolve_model(name, cache_dir)
        key = (engine, path, device, compute_type, threads)
    with _lock:
        if key not in _loaded:
            if engine == "openai-whisper":
                path = _openai_checkpoint(whisper, name or "base")
                impl = _load_openai(whisper, name or "base", path, device, threads)
                label = f"openai-whisper-{Path(path).stem}"  # "base.pt" -> "openai-whisper-base"
            else:
                impl = _load_faster(name, path, device, compute_type, threads)
                label = model_label(name)
            _loaded[key] = Engine(engine=engine, model=label, path=path, impl=impl)
        return _loaded[key]


def available_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _load_faster(name, path, device, compute_type, threads):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ModelError("faster-whisper is not installed: pip install 'podpipe[whisper]'") from None
    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)
    except Exception as e:
        if os.path.isdir(path):
            raise ModelError(f"cannot load the model in {path}: {_one_line(e)}") from e
        if isinstance(e, ValueError):  # faster-whisper's "Invalid model size"
            raise ModelError(f"unknown model {name!r}: {_one_line(e)}") from e
        raise ModelError(
            f"model {name!r} is not available offline; use 'base' or 'tiny.en' (bundled) or "
            f"a directory holding a CTranslate2 Whisper model ({_one_line(e)})") from e


# --- audio ---------------------------------------------------------------------

def load_audio(path):
    """Decode an audio file to mono float32 samples at 16 kHz.

    Raises ``AudioError`` (a ``ValueError``) carrying the decoder's message for
    missing, empty, non-audio, corrupt and truncated files.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"no audio file at {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"{path.name} is empty (0 bytes)")
    try:
        import av
        from faster_whisper.audio import decode_audio
    except ImportError:  # the openai-whisper extra alone: it decodes with the ffmpeg program
        av = None
    try:
        if av is None:
            from whisper.audio import load_audio as whisper_load_audio
            return _check_decoded(path, whisper_load_audio(str(path)), None)
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name} has no audio stream ({container.format.name})")
            declared = _declared_seconds(path, container)
        audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except AudioError:
        raise
    except MemoryError:
        raise
    except Exception as e:  # av.error.*, RuntimeError from ffmpeg, odd IndexErrors...
        raise AudioError(f"cannot decode {path.name}: {_one_line(e)}") from e
    return _check_decoded(path, audio, declared)


def _check_decoded(path, audio, declared):
    decoded = len(audio) / SAMPLE_RATE
    if decoded == 0:
        raise AudioError(f"{path.name} decodes to no audio samples")
    # An interrupted download still decodes, to its first few seconds. Where
    # the header states the length we can tell; a little slack for encoder
    # padding and rounding.
    if declared and declared - decoded > max(1.0, 0.02 * declared):
        raise AudioError(f"{path.name} looks truncated: it decodes to {decoded:.1f} s "
                         f"but its header says {declared:.1f} s")
    return audio


def _declared_seconds(path, container):
    stream = container.streams.audio[0]
    if not stream.duration or not stream.time_base:
        return None
    # For an MP3 without a Xing/Info/VBRI header FFmpeg guesses the length
    # from the first frame's bitrate and the file size: no use for spotting a
    # truncated file, and wildly off for VBR, so we ignore it.
    if container.format.name == "mp3" and not _mp3_has_length_header(path):
        return None
    return float(stream.duration * stream.time_base)


def _mp3_has_length_header(path):
    with open(path, "rb") as f:
        head = f.read(10)
        offset = 0
        if len(head) == 10 and head[:3] == b"ID3":  # skip the ID3v2 tag (cover art can be big)
            size = 0
            for byte in head[6:10]:  # "synchsafe": 7 bits a byte
                size = size << 7 | byte & 0x7F
            offset = 10 + size + (10 if head[5] & 0x10 else 0)
        f.seek(offset)
        first = f.read(4096)
    return any(tag in first for tag in (b"Xing", b"Info", b"VBRI"))


def _one_line(error):
    # FFmpeg errors read "[Errno 1094995529] Invalid data ...: '/full/path'";
    # strerror is the useful part.
    message = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return " ".join(str(message).split())


# --- transcription -------------------------------------------------------------

def transcribe_audio(model, audio_path, *, audio=None, language=None, vad=True, word_timestamps=False,
                     beam_size=5, prompt=None, on_progress=None):
    """Transcribe one audio file with an ``Engine`` from ``load_model``.

    Returns ``(info, segments)``: info is ``{"language", "duration"}`` (audio
    seconds); each segment is ``{"start", "end", "text", "speaker": None,
    "words"}``, where words is a list of ``{"start", "end", "word",
    "probability"}`` when ``word_timestamps`` is set, else None.
    ``prompt`` primes the decoder with words likely to be said (names, titles).
    ``on_progress(seconds_done, total_seconds)`` is called as segments arrive.
    ``audio``: the samples of audio_path when the caller has decoded them already.
    """
    if audio is None:
        audio = load_audio(audio_path)
    duration = round(len(audio) / SAMPLE_RATE, 3)
    if model.engine == "openai-whisper":
        language, raw = _transcribe_openai(model.impl, audio, language, word_timestamps, beam_size, prompt)
    else:
        raw, fw_info = model.impl.transcribe(
            audio, language=language, vad_filter=vad, word_timestamps=word_timestamps,
            beam_size=beam_size, condition_on_previous_text=CONDITION_ON_PREVIOUS_TEXT, initial_prompt=prompt)
        language = fw_info.language
    segments = []
    for seg in raw:  # a generator for faster-whisper: the work happens here
        segment = _segment(seg, duration, word_timestamps)
        if segment["text"]:
            segments.append(segment)
        if on_progress:
            on_progress(segment["end"], duration)
    if on_progress:
        on_progress(duration, duration)
    return {"language": language, "duration": duration}, segments


def _get(obj, key):
    # faster-whisper yields objects, openai-whisper dicts
    return obj[key] if isinstance(obj, dict) else getattr(obj, key)


def _segment(seg, duration, word_timestamps):
    # Whisper's last timestamp can overshoot the end of the audio by a
    # fraction of a second; clamp so that times always fall inside the file.
    end = round(min(float(_get(seg, "end")), duration), 3)
    start = round(min(float(_get(seg, "start")), end), 3)
    words = None
    if word_timestamps:
        words = []
        for w in _get(seg, "words") or []:
            w_end = round(min(float(_get(w, "end")), duration), 3)
            words.append({"start": round(min(float(_get(w, "start")), w_end), 3), "end": w_end,
                          "word": _get(w, "word").strip(),
                          "probability": round(float(_get(w, "probability")), 4)})
    return {"start": start, "end": end, "text": _get(seg, "text").strip(), "speaker": None,
            "words": words}


# --- openai-whisper (optional extra) ---------------------------------------------

def _import_openai_whisper():
    try:
        import whisper
    except ImportError:
        raise ModelError(f"openai-whisper is not installed: {OPENAI_HINT}") from None
    return whisper


def _openai_checkpoint(whisper, name):
    """The weight file for ``name``, which must already be on disk."""
    if os.path.isfile(name):
        return name
    url = whisper._MODELS.get(name)
    if url is None:
        raise ModelError(f"unknown openai-whisper model {name!r}: use one of "
                         f"{', '.join(whisper.available_models())} or a .pt file")
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "whisper"
    checkpoint = root / os.path.basename(url)
    # whisper.load_model(name) downloads whatever is missing or damaged, so we
    # check first and hand it the file path, which it loads as it is.
    if not checkpoint.is_file():
        raise ModelError(f"openai-whisper weights for {name!r} are not on this machine "
                         f"(expected {checkpoint}); nothing is downloaded at run time")
    expected = url.split("/")[-2]  # the URL carries the file's SHA-256
    digest = hashlib.sha256()
    with open(checkpoint, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise ModelError(f"{checkpoint} does not match the SHA-256 of openai-whisper {name!r}; "
                         "it is damaged or incomplete")
    return str(checkpoint)


def _load_openai(whisper, name, checkpoint, device, threads):
    import torch
    torch.set_num_threads(threads)
    try:
        impl = whisper.load_model(checkpoint, device=device)
    except Exception as e:
        raise ModelError(f"cannot load openai-whisper model {checkpoint}: {_one_line(e)}") from e
    heads = whisper._ALIGNMENT_HEADS.get(name)  # loading by path skips these (word timings)
    if heads:
        impl.set_alignment_heads(heads)
    return impl


def _transcribe_openai(impl, audio, language, word_timestamps, beam_size, prompt):
    # openai-whisper has no VAD filter and no progress callback.
    result = impl.transcribe(
        audio, language=language, word_timestamps=word_timestamps, beam_size=beam_size,
        best_of=beam_size, condition_on_previous_text=CONDITION_ON_PREVIOUS_TEXT,
        initial_prompt=prompt, fp16=False, verbose=None)
    return result["language"], result["segments"]
