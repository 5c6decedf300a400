"""The network's person score: how many crops without a person it rejects, and how many labelled people it keeps.

    python -m bench.eval_person_score [--card CARD | --checkpoint out/train_generalise/weights.pt]

Negatives: OUT/heldout.npz and OUT/train.npz of bench/mine_negatives.py (background crops and person-detector
false positives, and on a row of their own (not in heldout_all) boxes straddling two people; held out = camera 4 of both Pose2Sim clips and vtest.avi frames >= 600), plus, when model/data/synth's
held-out backgrounds exist, random crops of those. Positives: every person of the held-out camera
(out/distill/eval.npz, 133 people: the box of the multi-view reference grown by 10%, as bench/eval_default_weights.py),
the people of the synthetic held-out set where it exists (`main.py synth --split heldout`, 200 of them),
the held-out camera's people with the box the shipped detectors give (IoU >= 0.5 with the reference box), the detector
boxes on anyone the teacher sees in the held-out footage (bench/mine_negatives.py's 'person' crops: also
the small person far in the background and vtest.avi's pedestrians, whom the multi-view reference lacks;
in the validation table, those of the training footage), and the unaugmented
training crops (out/distill/train.npz, seen in training: the "validation" row that picks the threshold).
Every crop is cut by the app's recipe (model.net.crop) and scored by the card's engine (ONNX Runtime on the CPU)
or the raw checkpoint in PyTorch. Prints, for the backend's threshold (app.backends.cascade.PERSON_THRESHOLD)
and a few others, the share of negatives rejected and of people kept, per source.
"""

import argparse
import json
import os

import numpy as np

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def scorer(card: str, checkpoint: str):
    """fn(images (N, 3, S, S) float32) -> person scores (N,), and the crop spec."""
    from model.net.crop import CropSpec

    if checkpoint:
        import torch

        from model.net.checkpoint import load_checkpoint

        ckpt = load_checkpoint(checkpoint)
        net = ckpt.build_network("cpu").float()
        pre = ckpt.preprocessing
        spec = CropSpec(int(pre["input_size"]), pre["channel_order"], float(pre["pixel_scale"]),
                        tuple(pre["pixel_mean"]), tuple(pre["pixel_std"]), float(pre["crop_padding"]),
                        float(pre["crop_aspect"]))

        def run(images):
            with torch.inference_mode():
                return net.infer_outputs(torch.from_numpy(images))["person_score"].numpy()

        return run, spec
    from app.engines import select_engine
    from export.card import read_card

    engine = select_engine(card, preference="onnxruntime", device="cpu")
    spec = CropSpec.from_card(read_card(card))

    def run(images):
        out = engine.infer(images)
        if "person_score" not in out:
            raise SystemExit(f"{card}: this network has no person score output")
        return out["person_score"]

    return run, spec


def in_batches(fn, images: np.ndarray, size: int = 16) -> np.ndarray:
    return np.concatenate([fn(images[i:i + size]) for i in range(0, len(images), size)]) if len(images) else np.zeros(0)


def normalise(crops_bgr: np.ndarray, spec) -> np.ndarray:
    """(N, S, S, 3) uint8 BGR crops already cut by the app's recipe -> network input (N, 3, S, S)."""
    import cv2

    from model.net.crop import cut_crops

    out = []
    for crop in crops_bgr:
        if crop.shape[0] != spec.input_size:
            crop = cv2.resize(crop, (spec.input_size, spec.input_size), interpolation=cv2.INTER_AREA)
        # An identity cut: the box whose padded square is the whole crop.
        side = spec.input_size / spec.crop_padding
        lo = (spec.input_size - side) / 2
        out.append(cut_crops(crop, np.array([[lo, lo, lo + side, lo + side]]), spec).images[0])
    return np.stack(out) if out else np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)


def heldout_backgrounds(spec, per_image: int = 40, seed: int = 1) -> np.ndarray:
    """Person-shaped boxes at random on model/data/synth's held-out background pictures (never in training)."""
    from model.data.datasets.negatives import random_box
    from model.net.crop import cut_crops

    try:
        from model.data.synth.appearance import load_backgrounds
    except ImportError:
        return np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)
    rng = np.random.default_rng(seed)
    crops = [cut_crops(image, np.stack([random_box(rng, image.shape[1], image.shape[0]) for _ in range(per_image)]),
                       spec).images for image in load_backgrounds("heldout").values()]
    return np.concatenate(crops) if crops else np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)


def heldout_people(data: str, spec, detectors: bool) -> dict[str, np.ndarray]:
    """Crops of the held-out camera's people: reference boxes, and matching detector boxes."""
    from app.types import Frame
    from bench.eval_default_weights import _box, _frames
    from model.boxes import best_match
    from model.net.crop import cut_crops
    from model.data.distill import HOLDOUT_CLIP, HOLDOUT_VIEW, load_records, pose2sim_dir

    records = load_records(os.path.join(data, "eval.npz"))
    video = os.path.join(pose2sim_dir(), HOLDOUT_CLIP, "videos", f"{HOLDOUT_VIEW}.mp4")
    frames = _frames(video, {int(r["frame"]) for r in records})
    boxes = {f: [] for f in frames}
    for r in records:
        boxes[int(r["frame"])].append(_box(r["joints_2d"]))
    out = {"people, reference box": np.concatenate([cut_crops(frames[f], np.stack(b), spec).images
                                                    for f, b in boxes.items()])}
    if detectors:
        from app.detection import make_detector

        dets = [make_detector(n, max_people=10) for n in ("ssdlite", "mediapipe")]
        crops = []
        for f, refs in boxes.items():
            found = [d.box_xyxy for det in dets for d in det.detect(Frame(f, f / 60.0, frames[f]))]
            for ref in refs:
                best = best_match(found, ref, 0.5)
                if best is not None:
                    crops.append(cut_crops(frames[f], np.asarray(found[best])[None], spec).images[0])
        for det in dets:
            det.close()
        out["people, detector box"] = np.stack(crops)
    return out


def synthetic_people(folder: str, spec, limit: int = 200) -> np.ndarray:
    """Crops of the synthetic held-out set's people (bodies, clothes, poses and backgrounds never in training),
    at the box bench/eval_synthetic.py gives both backends; empty when the set has not been made."""
    from bench.eval_default_weights import _box
    from bench.eval_synthetic import samples
    from model.net.crop import cut_crops

    if not os.path.isdir(folder):
        return np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)
    crops = []
    for image, rec in samples(folder, limit):
        ok = np.isfinite(rec["joints_2d"]).all(-1)
        crops.append(cut_crops(image, _box(rec["joints_2d"][ok])[None], spec).images[0])
    return np.stack(crops) if crops else np.zeros((0, 3, spec.input_size, spec.input_size), np.float32)


def training_people(data: str, spec, limit: int) -> np.ndarray:
    """The distillation training crops, unaugmented, at the app's crop of their label box (the validation row)."""
    from model.net.crop import cut_crops
    from model.data.datasets.distill import load_split, to_crop

    split = load_split(os.path.join(data, "train.npz"))
    n = min(limit, len(split["crops"]))
    pick = np.linspace(0, len(split["crops"]) - 1, n).astype(int)
    out = []
    for i in pick:
        pts = to_crop(split["affines"][i], split["joints_2d"][i])
        ok = split["valid_2d"][i].astype(bool) & np.isfinite(pts).all(-1)
        lo, hi = pts[ok].min(0), pts[ok].max(0)
        pad = 0.05 * (hi - lo).max()
        out.append(cut_crops(split["crops"][i], np.array([[*(lo - pad), *(hi + pad)]]), spec).images[0])
    return np.stack(out)


def rates(scores: dict[str, np.ndarray], threshold: float) -> dict[str, float]:
    """Per source: share rejected (negatives) or kept (people) at `threshold`."""
    return {name: float((s >= threshold).mean() if name.startswith("people") else (s < threshold).mean())
            for name, s in scores.items() if len(s)}


def main(argv: list[str] | None = None) -> int:
    from app.backends.cascade import default_card_path

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--card", default=str(default_card_path()), help="model card (default: the shipped one)")
    p.add_argument("--checkpoint", default="")
    p.add_argument("--data", default="out/distill")
    p.add_argument("--negatives", default="out/negatives")
    p.add_argument("--synth", default="out/synth/heldout", help="synthetic held-out set (`main.py synth --split heldout`)")
    p.add_argument("--no-detectors", action="store_true", help="skip the detector-box row (faster)")
    p.add_argument("--json", default="")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from app.backends.cascade import PERSON_THRESHOLD

    fn, spec = scorer(args.card, args.checkpoint)
    held, val = {}, {}
    for split, table in (("heldout", held), ("train", val)):
        data = np.load(os.path.join(args.negatives, f"{split}.npz"))
        for kind in ("background", "false_positive", "straddle"):
            table[f"{kind} crops"] = in_batches(fn, normalise(data["crops"][data["kind"] == kind], spec))
        table["people, detector box on anyone the teacher sees"] = in_batches(
            fn, normalise(data["crops"][data["kind"] == "person"], spec))
    held["background crops, synthetic held-out pictures"] = in_batches(fn, heldout_backgrounds(spec))
    for name, images in heldout_people(args.data, spec, not args.no_detectors).items():
        held[name] = in_batches(fn, images)
    held["people, synthetic held-out set"] = in_batches(fn, synthetic_people(args.synth, spec))
    val["people, training crops"] = in_batches(fn, training_people(args.data, spec, 300))
    results = {"threshold": PERSON_THRESHOLD, "counts": {k: len(v) for k, v in held.items()},
               "validation_counts": {k: len(v) for k, v in val.items()},
               "heldout": {f"{t:g}": rates(held, t) for t in sorted({*THRESHOLDS, PERSON_THRESHOLD})},
               "validation": {f"{t:g}": rates(val, t) for t in sorted({*THRESHOLDS, PERSON_THRESHOLD})}}
    # Boxes straddling two people are reported on their own row, outside the rejection bar's set (background
    # crops and detector false positives), which stays comparable with earlier measurements.
    negatives = np.concatenate([v for k, v in held.items() if not k.startswith(("people", "straddle"))])
    people = np.concatenate([v for k, v in held.items() if k.startswith("people")])
    results["heldout_all"] = {"negatives_rejected": float((negatives < PERSON_THRESHOLD).mean()),
                              "people_kept": float((people >= PERSON_THRESHOLD).mean()),
                              "negatives": len(negatives), "people": len(people)}
    print(json.dumps(results, indent=1))
    if args.json:
        from model.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
