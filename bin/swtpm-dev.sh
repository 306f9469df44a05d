#!/usr/bin/env bash
# A software TPM (swtpm) for trying attestation on one machine — no hardware root of trust (docs/trust.md).
# Usage: bin/swtpm-dev.sh PORT STATE_DIR. Listens on 127.0.0.1:PORT (commands) and PORT+1 (control), prints
# one ready line naming the TCTI for tpm2-tools, and stops swtpm on Ctrl-C or SIGTERM.
set -euo pipefail
port=${1:?usage: bin/swtpm-dev.sh PORT STATE_DIR}
dir=${2:?usage: bin/swtpm-dev.sh PORT STATE_DIR}
mkdir -p "$dir"
swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
  --tpmstate "dir=$dir" --flags startup-clear &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 0' INT TERM
for _ in $(seq 1 200); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "swtpm exited (port $port or $((port + 1)) taken?)" >&2; exit 1; }
  sleep 0.05
done
echo "swtpm ready: TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$port"
wait "$pid"
