#!/usr/bin/env bash
# Runs one Aztec local network in the foreground: anvil (L1) and the Aztec node with its sequencer and
# funded test accounts. It does what `aztec start --local-network` does, with two differences: the
# caller chooses the ports, and the node's JSON-RPC server binds 127.0.0.1 instead of every interface.
# State lives in memory and is gone when it stops. Stop it by signalling its whole process group.
# Usage: local-network.sh <node port> <anvil port>
set -euo pipefail
R=${TUSK_AZTEC_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/tusk/aztec}
[ -f "$R/installed" ] || { echo "the Aztec toolchain is not installed in $R: run npm run aztec:setup" >&2; exit 2; }
. "$R/env.sh"
PORT=${1:?node port} ANVIL_PORT=${2:?anvil port}
here=$(cd "$(dirname "$0")" && pwd)

# The settings the aztec CLI wrapper gives its local network: fast polling, test accounts, L1 on anvil.
export ARCHIVER_POLLING_INTERVAL_MS=500 P2P_BLOCK_CHECK_INTERVAL_MS=500 SEQ_TX_POLLING_INTERVAL_MS=500
export WS_BLOCK_CHECK_INTERVAL_MS=500 ARCHIVER_VIEM_POLLING_INTERVAL_MS=500
export TEST_ACCOUNTS=true LOG_LEVEL=${LOG_LEVEL:-info;silent:sequencer}
export DEPLOY_AZTEC_CONTRACTS_SALT=${DEPLOY_AZTEC_CONTRACTS_SALT:-$RANDOM}
export L1_CHAIN_ID=31337 ETHEREUM_HOSTS="http://127.0.0.1:$ANVIL_PORT"

anvil --silent --host 127.0.0.1 --port "$ANVIL_PORT" &
anvil_pid=$!
trap 'kill $anvil_pid 2>/dev/null || true' EXIT
cd "$R/aztec"
node --no-warnings --import "$here/loopback-only.mjs" node_modules/@aztec/aztec/dest/bin/index.js \
  start --local-network --port "$PORT"
