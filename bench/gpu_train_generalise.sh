#!/usr/bin/env bash
# 15 minutes of fine-tuning on one CUDA GPU, from the committed weights: model/training/train_generalise.py with bf16
# autocast, channels_last, 96 positive + 16 negative crops per step, 14 threads cutting crops.
#
# NOT RUN YET: no GPU was lent to the session that wrote it. Untested parts: the data pipeline's speed
# (crops are cut and augmented by threads of the training process; at about 1,000 samples/s for the light
# config on an H100 the GPU will likely wait for them), and memory at this batch size.
#
# The GPU machine has no MediaPipe, Open3D or anny, so the data is prepared here and carried (64 MiB in all); the
# blazepose network of a checkpoint is built from the committed model/net/blazepose_graph.json, so neither
# mediapipe nor `tflite` is needed there (only `--init blazepose` reads the wheel's tflite).
#   out/distill/train.npz and out/distill/mocap.npz   (`python main.py distill`)
#   out/negatives/train.npz                           (`python -m bench.mine_negatives`)
#   out/synth/train/                                  (a few shards of `python main.py synth`, if they fit)
# assets/previous/ (the earlier default, 58 MB) and assets/cascade_blazepose.onnx (not needed to train) are moved
# aside for the call to save room, as
# bench/gpu_session.sh does. On the device tool, with carry [".whl", "out/distill", "out/negatives", "out/synth/train"]
# and timeout_s 600:
#     bash bench/gpu_train_generalise.sh            # 13 minutes of training, then the fp16 weights in $OUT
# Then here: copy $OUT/cascade_blazepose.pt to assets/ (and export it) only after `python -m bench.eval_default_weights --checkpoint`
# shows it is not worse than the committed one (assets/README.md, "Results").
set -u
OUT=${OUT:-/tmp/gpu_train_generalise}
MINUTES=${MINUTES:-13}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/nvidia_smi.txt"
# The schedule (cosine over --steps) is sized for the time: about 5 steps/s of 112 crops if the loader keeps up.
timeout $(( MINUTES * 60 + 120 )) python3 -m model.training.train_generalise --device cuda --threads 4 --loader-threads 14 \
    --batch-size 96 --negatives-per-step 16 --steps "${STEPS:-4000}" --minutes "$MINUTES" --save-minutes 3 \
    --init assets/cascade_blazepose.pt --freeze-blocks 14 --data out/distill --negatives out/negatives --synth out/synth/train \
    --out "$OUT/run" 2>&1 | tee "$OUT/train.log"
python3 -m model.training.train_generalise --out "$OUT/run" --ship "$OUT/cascade_blazepose.pt" 2>&1 | tee -a "$OUT/train.log"
rm -f "$OUT/run/last.pt"  # optimiser state: large, and never committed
ls -la "$OUT" "$OUT/run"
