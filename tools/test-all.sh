#!/usr/bin/env bash
# The README's test command: provisions what the tests need, then lint, typecheck and every
# project's jest suite through nx, and prints one closing line "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
DND_SKIP_BUILD=1 DND_WITH_SEAWEEDFS=1 bash infra/bootstrap.sh || { echo "bootstrap failed"; echo "0 passed, 1 failed"; exit 1; }
export PATH="${DND_CACHE:-$HOME/.cache/dnd}/tools/node_modules/.bin:$PATH" NX_DAEMON=false NX_NO_CLOUD=true
export DND_TEMPORAL_BIN="${DND_TEMPORAL_BIN:-$(bash infra/temporal.sh 2>/dev/null)}"
export DND_SEAWEEDFS_BIN="${DND_SEAWEEDFS_BIN:-$(bash infra/seaweedfs.sh 2>/dev/null)}"
rm -rf reports/jest && mkdir -p reports/jest
status=0
pnpm nx run-many -t lint,typecheck --output-style=static || status=1
# One project at a time: the suites train small models and 2 cores are all there is.
pnpm nx run-many -t test --parallel=1 --output-style=static --skip-nx-cache "$@" || status=1
node tools/summarize-jest.cjs reports/jest || status=1
exit $status
