"""podpipe: podcast interviews with product managers into a research database."""
import os

# onnxruntime (faster-whisper's VAD) phones home unless this is set before it
# is imported, so we set it before anything else can import it.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

import logging

# Log lines only appear when asked for (-v, --log-file); without this, Python
# prints our warnings to stderr on its own.
logging.getLogger("podpipe").addHandler(logging.NullHandler())
