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
