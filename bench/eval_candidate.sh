#!/usr/bin/env bash
# Ship a training checkpoint as a candidate set of weights and measure it against the shipped default (issue 27).
#
#   bash bench/eval_candidate.sh [CHECKPOINT] [OUT] [NAME]      # accuracy only (safe on a busy machine)
#   SPEED=1 bash bench/eval_candidate.sh ...                     # also the timings: ONLY on an idle machine
#
# CHECKPOINT (default runs/blazepose/weights.pt, the running training's latest save) gets the paper's second
# stage (its lifting block alone, STAGE2=1000 steps; STAGE2=0 skips it), is copied as fp16 to
# OUT/NAME.pt (default out/candidate/cascade_blazepose.pt), exported to ONNX with a card at its own input size
# (192) and at 160 px (NAME_160.*), then evaluated beside the shipped assets/cascade_blazepose.card.json:
#   held-out camera 4 (bench.eval_default_weights): PCK@0.1 vs multi-view, MPJPE, PA-MPJPE, elbows and wrists,
#     with MediaPipe (the teacher) in the same run; synthetic held-out set (bench.eval_synthetic --limit 200);
#     the person head (bench.eval_person_score --no-detectors).
#   SPEED=1: bench.cpu_vs_mediapipe with the candidate card as an extra row beside the default pipeline
#     (fps ratios to MediaPipe in one process), bench.tracking_quality with each card.
# Results: OUT/*.json and OUT/*.log; nothing in assets/ changes (copy OUT/NAME.* there by hand to ship).
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT="${1:-runs/blazepose/weights.pt}"
OUT="${2:-out/candidate}"
NAME="${3:-cascade_blazepose}"
PY=".venv/bin/python"
SHIPPED="assets/cascade_blazepose.card.json"
mkdir -p "$OUT"

echo "== ship $CKPT -> $OUT/$NAME.pt (fp16) and export"
cp "$CKPT" "$OUT/weights.pt"  # a fixed copy: the running training rewrites CKPT every few minutes
rm -f "$OUT/weights_stage1.pt"
if [ "${STAGE2:-1000}" != "0" ]; then
  # The paper's second stage: the lifting block alone on the network's own 2.5D of the training crops + mocap
  # (3-4 minutes on 2 cores). Measured on step 1093 of runs/blazepose: MPJPE 190 -> 146 mm, PA-MPJPE 108 -> 82.
  $PY -m model.training.distill_train --data out/distill --out "$OUT" --stage2-steps "${STAGE2:-1000}" --threads 2
fi
$PY -m model.training.train_generalise --out "$OUT" --ship "$OUT/$NAME.pt"
$PY main.py export "$OUT/$NAME.pt" --out "$OUT"
$PY main.py export "$OUT/$NAME.pt" --out "$OUT" --input-size 160

for card in "$OUT/$NAME.card.json" "$OUT/${NAME}_160.card.json" "$SHIPPED"; do
  tag="$(basename "$card" .card.json)"
  echo "== held-out camera 4: $tag"
  $PY -m bench.eval_default_weights --card "$card" --no-speed --json "$OUT/heldout_$tag.json" > "$OUT/heldout_$tag.log" 2>&1
  grep '^|' "$OUT/heldout_$tag.log"
  echo "== synthetic held-out set: $tag"
  $PY -m bench.eval_synthetic --card "$card" --limit 200 --json "$OUT/synthetic_$tag.json" > "$OUT/synthetic_$tag.log" 2>&1
  tail -n 4 "$OUT/synthetic_$tag.log"
  echo "== person head: $tag"
  $PY -m bench.eval_person_score --card "$card" --no-detectors --json "$OUT/person_$tag.json" > "$OUT/person_$tag.log" 2>&1
  tail -n 4 "$OUT/person_$tag.log"
done

if [ "${SPEED:-0}" = "1" ]; then
  echo "== speed (idle machine only): default pipeline vs candidate card, ratios to MediaPipe in one process"
  $PY -m bench.cpu_vs_mediapipe --card "$OUT/${NAME}_160.card.json" 2>&1 | tee "$OUT/speed_160.log"
  $PY -m bench.cpu_vs_mediapipe --card "$OUT/$NAME.card.json" 2>&1 | tee "$OUT/speed_192.log"
  for card in "$OUT/${NAME}_160.card.json" "$SHIPPED"; do
    $PY -m bench.tracking_quality --card "$card" 2>&1 | tee "$OUT/tracking_$(basename "$card" .card.json).log"
  done
fi
