"""podpipe: podcast interviews with product managers into a research database."""
import logging
import os

# onnxruntime (faster-whisper's VAD) phones home unless this is set before it
# is imported, so we set it before anything else can import it.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# Log lines only appear when asked for (-v, --log-file); without a handler,
# Python would print our warnings to stderr on its own.
logging.getLogger("podpipe").addHandler(logging.NullHandler())

__version__ = "0.1.0"
