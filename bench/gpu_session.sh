#!/usr/bin/env bash
# One prepared run on a lent CUDA machine: engine speed table, GPU tests, pipeline FPS (about 4 minutes).
#
# For the project's H100 machine (CUDA PyTorch, ONNX Runtime CPU, OpenCV; no TensorRT, no
# onnxruntime-gpu, no MediaPipe/Open3D/Qt). Needs the efficientnet_lite_pytorch wheel in .whl/
# (see bench/gpu_check.py). The working tree that travels must stay under 64 MiB, so
# assets/previous/ (the earlier default, 58 MB) is moved aside for the call.
# On the device tool, with carry [".whl"] and timeout_s 540:
#     bash bench/gpu_session.sh                   # every step
#     bash bench/gpu_session.sh pipeline process  # only those steps (check, tests, pipeline, process, warmup)
#     bash bench/gpu_session.sh train             # training speed and the CUDA/AMP training path (not in "every")
# Every step has its own timeout so one hang cannot cost the others; logs and JSON land in $OUT.
set -u
STEPS=" ${*:-check tests pipeline process warmup} "
OUT=${OUT:-/tmp/gpu_session}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/nvidia_smi.txt"

# 1. Shipped weights on torch-cuda vs torch-cpu, then the paper and light configs: export, parity, speed.
if [[ $STEPS == *" check "* ]]; then
    timeout 300 python3 -m bench.gpu_check --shipped --out "$OUT" 2>&1 | tee "$OUT/gpu_check.log"
fi

# 2. The test files with GPU paths (CUDA tests run instead of skipping); the two deselected tests need
#    MediaPipe or the EfficientNet ImageNet weights package, which that machine lacks.
if [[ $STEPS == *" tests "* ]]; then
    timeout 120 python3 -m pytest -q -p no:cacheprovider tests/app/test_engines.py tests/model/net/test_network.py \
        tests/export tests/app/backends/test_cascade.py \
        --deselect tests/model/net/test_network.py::test_efficientnet_lite0_loads_shipped_weights_and_any_size \
        --deselect tests/app/backends/test_cascade.py::test_runs_inside_the_pipeline -rs 2>&1 | tee "$OUT/pytest.log"
fi

# 3. The whole pipeline on the bundled clip (SSDLite detector on the CPU), cascade backend on the GPU
#    and, for the same machine, on its CPU.
if [[ $STEPS == *" pipeline "* ]]; then
    for device in cuda cpu; do
        timeout 75 python3 -m bench.pipeline --detector ssdlite --device "$device" --frames 100 --live-seconds 8 \
            2>&1 | tee "$OUT/pipeline_$device.log"
    done
fi

# 4. `main.py process` on the bundled clip with the network on the GPU: every frame to JSON, BVH and CSV.
if [[ $STEPS == *" process "* ]]; then
    timeout 90 python3 main.py process assets/sample_two_people.mp4 --out /tmp/process_out --detector ssdlite \
        --device cuda 2>&1 | tr '\r' '\n' | tail -4 | tee "$OUT/process.log"
fi

# 5. The torch-cuda engine's build time and first call per batch bucket (graph capture), as the app runs it.
if [[ $STEPS == *" warmup "* ]]; then
    timeout 60 python3 -m bench.gpu_warmup 2>&1 | tee "$OUT/warmup_app.log"
fi

# 6. Training: stage-1 steps/s of the paper and light configs at the paper's batch 64, AMP (bf16) vs fp32,
#    data loading excluded; then the synthetic smoke recipe trained and evaluated on CUDA with AMP through
#    `main.py train` / `main.py eval`, to compare with the same recipe on the CPU.
if [[ $STEPS == *" train "* ]]; then
    timeout 150 python3 -m bench.train_speed --configs paper light --batch 64 --steps 10 2>&1 | tee "$OUT/train_speed.log"
    RUN=$(mktemp -d)
    timeout 150 python3 main.py train model/training/configs/synthetic_cpu.yaml --device cuda --out-dir "$RUN" \
        --set num_workers=6 --set cpu_threads=0 2>&1 | tee "$OUT/train_synthetic.log"
    timeout 60 python3 main.py eval "$RUN/final.pt" synthetic --device cuda 2>&1 | tee "$OUT/eval_synthetic.log"
fi
