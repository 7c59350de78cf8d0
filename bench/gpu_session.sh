#!/usr/bin/env bash
# Every GPU check of the project in one run, for a machine with torch + CUDA where onnxruntime-gpu
# was unpacked into $HOME/site (../shared/tools/offline-ort-gpu.sh says how):
#   bash bench/gpu_session.sh PHOTO_DIR OUT_DIR
# Runs the CUDA tests, then bench/gpu.py (fit, context race against the CPU's, batched fits,
# restore, parity, batch encode). INPUT_SPACE=prophoto for untagged photos (the dev set);
# ONLY=fit,race,... for some sections.
set -uo pipefail
photos=$(cd "$1" && pwd); out=$(mkdir -p "$2" && cd "$2" && pwd)
mapfile -t files < <(find "$photos" -maxdepth 1 -type f ! -name '*.md' ! -name '.*' | sort)
export PYTHONPATH=$PWD/src:$HOME/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia-smi.txt"
python3 -c "import torch, onnxruntime as o; print('torch', torch.__version__, 'onnxruntime', o.__version__, o.get_available_providers())"
timeout 100 python3 -m pytest -q -p no:cacheprovider -k "cuda or gpu" tests/test_graph.py \
  tests/test_captured_fit.py tests/test_batched_fit.py tests/test_fit.py 2>&1 | tee "$out/pytest-gpu.txt"
cd bench && timeout "${GPU_BENCH_TIMEOUT:-420}" python3 gpu.py --device cuda --photos "${files[@]}" \
  --out "$out/gpu.json" ${INPUT_SPACE:+--input-space "$INPUT_SPACE"} ${ONLY:+--only "$ONLY"} \
  2>&1 | tee "$out/gpu.log"
