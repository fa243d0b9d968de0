#!/usr/bin/env bash
# The Python reference environment for parity fixtures and benchmarks (PyTorch CPU, transformers,
# PEFT, sentence-transformers, gguf). Never used by CI or at run time: tests read committed fixtures.
# Prints the venv's python path. PyPI's Linux torch wheel is large (CUDA libraries); it still runs on the CPU.
source "$(dirname "$0")/lib.sh"
VENV="$DND_CACHE/pyref"
if [ ! -f "$VENV/.complete" ]; then
  log "creating the Python reference venv in $VENV (large download: torch)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    torch==2.15.0 transformers==5.23.0 peft==0.21.2 sentence-transformers==6.2.0 safetensors==0.8.0 \
    gguf==0.19.0 lm-eval==0.4.13 numpy >&2
  touch "$VENV/.complete"
fi
printf '%s\n' "$VENV/bin/python"
