#!/usr/bin/env bash
# npm run typecheck:aztec: checks contracts/sdk.ts, Tusk's hand-written types for the Aztec SDK,
# against the real @aztec declarations in the toolchain cache (contracts/sdk.conformance.ts).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
R=${TUSK_AZTEC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/tusk/aztec}
[ -f "$R/installed" ] || { echo "the Aztec toolchain is not installed in $R: run npm run aztec:setup" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A folder whose node_modules holds the cache's @aztec packages, so their own imports resolve there.
mkdir -p "$work/node_modules"
ln -s "$R/aztec/node_modules/@aztec" "$work/node_modules/@aztec"
sed "s#from './sdk'#from '$repo/contracts/sdk'#" "$repo/contracts/sdk.conformance.ts" > "$work/check.ts"
cat > "$work/tsconfig.json" <<JSON
{
  "extends": "$repo/tsconfig.json",
  "compilerOptions": { "typeRoots": ["$repo/node_modules/@types"], "noEmit": true },
  "include": [],
  "files": ["$work/check.ts"]
}
JSON
"$repo/node_modules/.bin/tsc" -p "$work/tsconfig.json"
echo "contracts/sdk.ts fits the @aztec 4.1.2 declarations"
