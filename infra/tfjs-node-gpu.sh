#!/usr/bin/env bash
# Builds @tensorflow/tfjs-node-gpu's native binding against the CUDA build of TensorFlow's C library, taken
# from PyPI's `tensorflow` wheel (Linux x86_64 builds carry CUDA kernels), with the NVIDIA CUDA libraries
# that its `and-cuda` extra names installed from PyPI beside it. Same recipe as infra/tfjs-node.sh (shared
# parts in infra/lib.sh). NOT TESTED ON A GPU: no machine with one was available; see docs/runtime.md.
# Needs an NVIDIA driver for CUDA 12 on the host (libcuda.so.1 comes from the driver, never from PyPI).
# Env: DND_TF_GPU_CUDA=pip (default: CUDA libraries from PyPI) | system (use the host's CUDA 12 + cuDNN 9 on
# LD_LIBRARY_PATH); DND_ALLOW_NO_GPU=1 accepts a build that loads but sees no GPU (for checking the build on a CPU box).
source "$(dirname "$0")/lib.sh"
TF_VERSION=2.21.0
TF_SHA=9056fbc9ba04235810b71ae6cbd958a196e8804fb53bbcffbf3e23b56155f124   # tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl
CUDA_FROM=${DND_TF_GPU_CUDA:-pip}
LIBTF="$DND_CACHE/libtensorflow-gpu-$TF_VERSION-cuda-$CUDA_FROM"

if [ ! -f "$LIBTF/.complete" ]; then
  whl=$(fetch_wheel tensorflow "$TF_VERSION" "$TF_SHA" --only-binary=:all: --python-version 3.11 \
        --implementation cp --platform manylinux_2_27_x86_64)
  extract_libtensorflow "$whl" "$LIBTF"
  mkdir -p "$LIBTF.tmp/py"
  if [ "$CUDA_FROM" = pip ]; then
    # The wheel's own pins (Requires-Dist ...; extra == "and-cuda"): nvidia-cublas-cu12, -cudnn-cu12, ...
    mapfile -t reqs < <(python3 - "$whl" <<'PY'
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
for line in z.read(meta).decode().splitlines():
    m = re.match(r'Requires-Dist: ([^;]+);\s*extra == "and-cuda"', line)
    if m: print(m.group(1).strip())
PY
    )
    [ "${#reqs[@]}" -gt 0 ] || { log "no and-cuda requirements in $(basename "$whl")"; exit 1; }
    log "installing ${#reqs[@]} NVIDIA CUDA packages from PyPI (several GB): ${reqs[*]}"
    python3 -m pip install --quiet --disable-pip-version-check --only-binary=:all: --target "$LIBTF.tmp/py" "${reqs[@]}" >&2
    python3 -m pip freeze --path "$LIBTF.tmp/py" > "$LIBTF.tmp/cuda-packages.txt"
  fi
  # libtensorflow's RUNPATH looks for CUDA at $ORIGIN/../nvidia/<lib>/lib, i.e. beside lib/ (and beside deps/lib).
  mkdir -p "$LIBTF.tmp/py/nvidia" && ln -sfn py/nvidia "$LIBTF.tmp/nvidia"
  touch "$LIBTF.tmp/.complete" && rm -rf "$LIBTF" && mv "$LIBTF.tmp" "$LIBTF"
fi

build_tfjs_binding tfjs-node-gpu "$LIBTF" nvidia || exit 1

# Load it and ask TensorFlow which devices it created (it logs them at level 0).
log_file=$(mktemp)
TF_CPP_MIN_LOG_LEVEL=0 node -e "
const tf = require('$(tfjs_binding_dir tfjs-node-gpu)');
tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync();
console.error('[infra] tfjs-node-gpu loaded, backend', tf.getBackend());" >"$log_file" 2>&1 || { cat "$log_file" >&2; rm -f "$log_file"; exit 1; }
grep -E '^\[infra\]|device:GPU|Could not find cuda|cuda_driver|Cannot dlopen' "$log_file" >&2 || true
if grep -q 'device:GPU:0' "$log_file"; then
  rm -f "$log_file"; log "tfjs-node-gpu OK: TensorFlow created a GPU device"
elif [ "${DND_ALLOW_NO_GPU:-0}" = 1 ]; then
  rm -f "$log_file"; log "tfjs-node-gpu built and loads, but TensorFlow saw no GPU (DND_ALLOW_NO_GPU=1: accepted)"
else
  rm -f "$log_file"; log "tfjs-node-gpu loads but TensorFlow saw no GPU: check nvidia-smi and the CUDA libraries"; exit 1
fi
