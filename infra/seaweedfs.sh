#!/usr/bin/env bash
# Provisions SeaweedFS's `weed` binary (Apache-2.0), the S3-compatible server of the S3 artifact-store tests,
# built from its Go module at the commit pinned in infra/seaweedfs/go.mod (go.sum pins every checksum).
# Prints the binary's path on stdout. Not a deployment: production S3 is whatever endpoint DND_ARTIFACTS names.
# SeaweedFS's go.mod carries a `replace` line, so `go install ...@version` refuses it; the wrapper module in
# infra/seaweedfs/ carries the same `replace` and builds `github.com/seaweedfs/seaweedfs/weed` from there.
source "$(dirname "$0")/lib.sh"
MOD_DIR="$INFRA_DIR/seaweedfs"
SW_VERSION=$(awk '$1 == "require" && $2 == "github.com/seaweedfs/seaweedfs" { print $3 }' "$MOD_DIR/go.mod")
[ -n "$SW_VERSION" ] || { log "no seaweedfs require line in $MOD_DIR/go.mod"; exit 1; }
# The stamp is the directory name: module version plus a hash of go.mod/go.sum (a changed pin rebuilds).
STAMP=$(cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" | sha256sum | cut -c1-12)
BIN="$DND_CACHE/seaweedfs-$SW_VERSION-$STAMP/weed"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { log "SeaweedFS needs Go (>= the go line of $MOD_DIR/go.mod) to build; install Go or set DND_SEAWEEDFS_BIN"; exit 1; }
  log "building SeaweedFS $SW_VERSION from the Go module proxy (once; ~30 min on 2 cores)"
  mkdir -p "$(dirname "$BIN")"
  (cd "$MOD_DIR" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags='-s -w' \
     -o "$BIN.tmp" github.com/seaweedfs/seaweedfs/weed) >&2
  mv "$BIN.tmp" "$BIN"
fi
"$BIN" version >&2
printf '%s\n' "$BIN"
