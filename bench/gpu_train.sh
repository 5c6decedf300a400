#!/usr/bin/env bash
# One prepared run on a lent CUDA machine: training speed and the CUDA/AMP training path (about 3 minutes).
#
# 1. bench/train_speed.py: stage-1 steps/s of the paper and light configs at the paper's batch 64,
#    AMP (bf16) vs fp32, data loading excluded.
# 2. The synthetic smoke recipe (model/configs/synthetic_cpu.yaml) trained and evaluated on CUDA with
#    AMP through `main.py train` / `main.py eval`, to compare with the same recipe on the CPU.
# Needs the efficientnet_lite_pytorch wheel in .whl/ (bench/gpu_check.py says how); on the device tool,
# with carry [".whl"] and timeout_s 360:  bash bench/gpu_train.sh
set -u
OUT=${OUT:-/tmp/gpu_train}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
timeout 150 python3 -m bench.train_speed --configs paper light --batch 64 --steps 10 2>&1 | tee "$OUT/train_speed.log"
RUN=$(mktemp -d)
timeout 150 python3 main.py train model/configs/synthetic_cpu.yaml --device cuda --out-dir "$RUN" \
    --set num_workers=6 --set cpu_threads=0 2>&1 | tee "$OUT/train_synthetic.log"
timeout 60 python3 main.py eval "$RUN/final.pt" synthetic --device cuda 2>&1 | tee "$OUT/eval_synthetic.log"
