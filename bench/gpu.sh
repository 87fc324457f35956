#!/usr/bin/env bash
# The GPU machine's benchmark, in one device call (see ../shared/gpu/README.md):
#   here:   npm install && ../shared/gpu/prepare.sh
#   there:  source .gpu/on-device.sh; bash bench/gpu.sh        (carry: [".gpu"])
# 1. our bench at full sizes plus matmul 4096, ours against tfjs on the same Dawn adapter;
# 2. bench/peft_baseline.py: torch.matmul (float32, TF32 off) for the same sizes and the same
#    transformer in PyTorch + PEFT LoRA (and full fine-tuning), then our/their ratios.
# Results go to $OUT (the device tool's folder that comes back) or bench/results/.
set -uo pipefail
cd "$(dirname "$0")/.."
dest=${OUT:-bench/results}
mkdir -p "$dest"
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
# tsx through node's --import (the packed Node has no npx).
timeout "${BENCH_NODE_TIMEOUT:-330}" node --import tsx bench/run.ts --matmul "${BENCH_MATMUL:-256,512,1024,2048,4096}" \
  --out "$dest/gpu.json" 2> >(grep -v artificially >&2) | tee "$dest/gpu.md"
node_rc=${PIPESTATUS[0]}
[ "$node_rc" -eq 0 ] || echo "== our bench exited with $node_rc; the PyTorch baseline runs anyway"
timeout "${BENCH_PY_TIMEOUT:-200}" python3 bench/peft_baseline.py --ours "$dest/gpu.json" --out "$dest/peft.json" | tee "$dest/peft.md"
py_rc=${PIPESTATUS[0]}
echo "== done: node $node_rc, python $py_rc"
[ "$node_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]
