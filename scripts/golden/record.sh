#!/usr/bin/env bash
# Records golden outputs: every command of commands.txt (fixed seeds) and `reproduce` at quick scale.
#   scripts/golden/record.sh DIR [BINARY]
# Compare two recordings with scripts/golden/compare.py OLD NEW.
set -euo pipefail
dir=${1:?usage: record.sh DIR [BINARY]}
bin=${2:-.build/release/solvable}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/cmd"
while IFS='|' read -r name args; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  "$bin" $args --out "$dir/cmd/$name" --quiet >/dev/null || echo "$name exited $?" >&2
done < "$here/commands.txt"
"$bin" reproduce --out "$dir/reproduce" --quiet >/dev/null || echo "reproduce exited $?" >&2
