#!/usr/bin/env bash
# Set up, then run the whole pipeline on the bundled demo feed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/podpipe profiles import feeds/demo/product-manager.md
.venv/bin/podpipe run feeds/demo/feed.xml --diarize "$@"
