#!/usr/bin/env bash
# `pnpm bench <name> [args]`: runs tools/bench/<name>.sh. Each benchmark compares against PyTorch in the same run.
exec bash "$(dirname "$0")/bench/$1.sh" "${@:2}"
