"""Configuration: built-in defaults, then podpipe.toml, then PODPIPE_* environment
variables, then command-line options (each overriding the one before)."""
import os
from pathlib import Path

from .db import DEFAULT_DB
from .errors import ConfigurationError

CONFIG_FILE = "podpipe.toml"

# key: (default, the Click parameter it sets, environment variable)
SETTINGS = {
    "db": (DEFAULT_DB, "db_path", "PODPIPE_DB"),
    "audio_dir": ("audio", "audio_dir", "PODPIPE_AUDIO_DIR"),
    "transcripts_dir": ("transcripts", "transcripts_dir", "PODPIPE_TRANSCRIPTS_DIR"),
    "model": ("base", "model", "PODPIPE_MODEL"),
    "engine": ("faster-whisper", "engine", "PODPIPE_ENGINE"),
    "language": (None, "language", "PODPIPE_LANGUAGE"),
    "diarize": (False, "diarize", "PODPIPE_DIARIZE"),
    "concurrency": (4, "concurrency", "PODPIPE_CONCURRENCY"),
    "max_attempts": (3, "max_attempts", "PODPIPE_MAX_ATTEMPTS"),
    "max_bytes": (1024 ** 3, "max_bytes", "PODPIPE_MAX_BYTES"),
    "cluster": (None, "cluster", "PODPIPE_CLUSTER"),
    "audio_to_workers": ("auto", "audio_to_workers", "PODPIPE_AUDIO_TO_WORKERS"),
}


class ConfigError(ConfigurationError):
    """A configuration file or value that cannot be used."""


def _coerce(key, value):
    default = SETTINGS[key][0]
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{key} must be true or false, not {value!r}")
    if isinstance(default, int) and not isinstance(value, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a whole number, not {value!r}") from None
    return value


def load_config(path=None, environ=None):
    """The settings in force: {key: (value, where it came from)}."""
    environ = os.environ if environ is None else environ
    values = {key: (default, "default") for key, (default, _, _) in SETTINGS.items()}
    file = Path(path) if path else Path(CONFIG_FILE)
    if path and not file.exists():
        raise ConfigError(f"no configuration file at {file}")
    if file.exists():
        import tomllib  # here: most runs have no file, and its import is a few ms of every command's start

        try:
            data = tomllib.loads(file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: {exc}") from None
        data = data.get("podpipe", data)
        unknown = sorted(set(data) - set(SETTINGS))
        if unknown:
            raise ConfigError(f"{file}: unknown setting {unknown[0]!r}; known: {', '.join(SETTINGS)}")
        for key, value in data.items():
            values[key] = (_coerce(key, value), str(file))
    for key, (_, _, env) in SETTINGS.items():
        if environ.get(env):
            values[key] = (_coerce(key, environ[env]), f"${env}")
    return values


def default_map(commands, config):
    """A Click default_map giving the options of these commands ({name: command},
    and their subcommands) their configured values."""
    by_param = {SETTINGS[key][1]: value for key, (value, source) in config.items() if source != "default"}
    # not the database: as a command's default it would beat a --db given before the
    # command (podpipe --db b status); commands.options.db_path_of resolves it, options first
    by_param.pop("db_path", None)
    result = {}
    for name, sub in commands.items():
        if getattr(sub, "commands", None):
            result[name] = default_map(sub.commands, config)
        elif sub is not None:
            result[name] = {p.name: by_param[p.name] for p in sub.params if p.name in by_param}
    return result
