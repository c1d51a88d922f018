#!/usr/bin/env bash
# Install everything podpipe needs on Debian: system packages, a virtualenv in
# .venv, and podpipe with its extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# espeak-ng and ffmpeg make test and demo audio; python3-venv is split out on Debian.
need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
# chromium: the desk's browser tests drive it with Playwright (never a browser of its own)
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e ".[${PODPIPE_EXTRAS:-whisper,datasette,desk,test,diarize,cluster,extract}]"
