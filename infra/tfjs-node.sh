#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node's native binding against the TensorFlow C library carried by PyPI's
# tensorflow-cpu wheel (upstream's install script downloads a libtensorflow 2.9.1 that is gone).
# Idempotent: a stamp per package copy records what it was built against. The GPU route: infra/tfjs-node-gpu.sh.
source "$(dirname "$0")/lib.sh"
TF_VERSION=2.21.0
TF_SHA=2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c
LIBTF="$DND_CACHE/libtensorflow-cpu-$TF_VERSION"

if [ ! -f "$LIBTF/.complete" ]; then
  whl=$(fetch_wheel tensorflow-cpu "$TF_VERSION" "$TF_SHA" --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_27_x86_64)
  extract_libtensorflow "$whl" "$LIBTF"
  touch "$LIBTF.tmp/.complete" && rm -rf "$LIBTF" && mv "$LIBTF.tmp" "$LIBTF"
fi

build_tfjs_binding tfjs-node "$LIBTF" || exit 1
node -e "const tf=require('$(tfjs_binding_dir tfjs-node)'); if (tf.getBackend()!=='tensorflow') process.exit(1); console.error('[infra] tfjs-node OK, backend', tf.getBackend())" 2>&1 | tf_quiet
