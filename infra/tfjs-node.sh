#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding against the TensorFlow C library carried by PyPI's
# tensorflow-cpu wheel (upstream's install script downloads a libtensorflow 2.9.1 that is gone).
# Idempotent: a stamp per package copy records what it was built against. Not a GPU build: see docs/runtime.md.
source "$(dirname "$0")/lib.sh"
TF_VERSION=2.21.0
TF_SHA=2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c
LIBTF="$DND_CACHE/libtensorflow-cpu-$TF_VERSION"

if [ ! -f "$LIBTF/.complete" ]; then
  whl=$(fetch_wheel tensorflow-cpu "$TF_VERSION" "$TF_SHA" --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_27_x86_64)
  log "unpacking the TensorFlow C library from $(basename "$whl")"
  rm -rf "$LIBTF.tmp" && mkdir -p "$LIBTF.tmp/lib" "$LIBTF.tmp/include"
  (cd "$LIBTF.tmp" && python3 - "$whl" <<'PY'
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
keep = ('tensorflow/c/', 'tensorflow/core/platform/', 'xla/', 'tsl/', 'absl/')
for n in z.namelist():
    if n in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'):
        with z.open(n) as s, open('lib/' + os.path.basename(n), 'wb') as d:
            while chunk := s.read(1 << 22): d.write(chunk)
    elif n.startswith('tensorflow/include/') and not n.endswith('/'):
        rel = n[len('tensorflow/include/'):]
        if rel.startswith(keep):
            os.makedirs(os.path.dirname('include/' + rel), exist_ok=True)
            with z.open(n) as s, open('include/' + rel, 'wb') as d: d.write(s.read())
PY
  )
  ln -sf libtensorflow_cc.so.2 "$LIBTF.tmp/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$LIBTF.tmp/lib/libtensorflow_framework.so"
  touch "$LIBTF.tmp/.complete" && rm -rf "$LIBTF" && mv "$LIBTF.tmp" "$LIBTF"
fi

NODE_GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
[ -f "$NODEDIR/include/node/node_api.h" ] || NODEDIR=/usr
built=0
for pkg in "$REPO_ROOT"/node_modules/.pnpm/@tensorflow+tfjs-node@*/node_modules/@tensorflow/tfjs-node; do
  [ -d "$pkg" ] || continue
  stamp="$pkg/lib/napi-v8/.dnd-built-against"
  if [ -f "$pkg/lib/napi-v8/tfjs_binding.node" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$LIBTF" ]; then
    log "tfjs-node binding already built in $pkg"; built=1; continue
  fi
  log "building the tfjs-node binding in $pkg"
  mkdir -p "$pkg/deps"
  rm -rf "$pkg/deps/lib" "$pkg/deps/include"
  ln -s "$LIBTF/lib" "$pkg/deps/lib"
  ln -s "$LIBTF/include" "$pkg/deps/include"
  (cd "$pkg" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --module_name=tfjs_binding \
     --module_path="$pkg/lib/napi-v8" --napi_build_version=8 >"$pkg/build.log" 2>&1) \
     || { log "node-gyp failed, see $pkg/build.log"; tail -20 "$pkg/build.log" >&2; exit 1; }
  echo "$LIBTF" > "$stamp"; built=1
done
[ "$built" = 1 ] || { log "no @tensorflow/tfjs-node in node_modules: run pnpm install first"; exit 1; }
node -e "const tf=require('$(ls -d "$REPO_ROOT"/node_modules/.pnpm/@tensorflow+tfjs-node@*/node_modules/@tensorflow/tfjs-node | head -n1)'); if (tf.getBackend()!=='tensorflow') process.exit(1); console.error('[infra] tfjs-node OK, backend', tf.getBackend())" 2>&1 | grep -v -E 'oneDNN|cpu_feature_guard|rebuild TensorFlow|I0000|W0000|E0000|WARNING: All log' >&2
