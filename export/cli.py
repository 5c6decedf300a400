"""`python main.py export CHECKPOINT [--tensorrt] [--fp16] [--max-batch N] [--out DIR]`.

Writes next to each other in DIR (default: the checkpoint's folder), named after the checkpoint:
  NAME.onnx        dynamic-batch ONNX model (opset 17), fp32; always written
  NAME.fp16.onnx   the same with a half-precision convolutional trunk (--fp16)
  NAME.<hash>.<precision>.b<N>.<gpu>-sm<cc>.trt<version>.engine   TensorRT engine (--tensorrt),
                   fp16 with --fp16, built from the ONNX file of that precision
  NAME.card.json   the model card (export/card.py) listing them all
After each artifact is written, the same fixed crops run through PyTorch (fp32, CPU) and the
artifact and the largest differences are printed; above tolerance (export/parity.py) the export
fails (exit 1) and the artifact is not added to the card. Artifacts already in the card for the
same checkpoint (and GPU, TensorRT version, precision and max batch) are reused, not rebuilt.
Exit status: 0 when everything asked for was written and passed parity, 1 otherwise.
"""

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from export.card import (
    Artifact, CardError, ModelCard, OutputSpec, StaleArtifactError, card_path_for, check_artifact, engine_filename,
    read_card, sha256_file, write_card,
)

DEFAULT_MAX_BATCH = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="training checkpoint (.pt) written by `main.py train`")
    parser.add_argument("--tensorrt", action="store_true", help="also build a TensorRT engine for this machine's GPU")
    parser.add_argument("--fp16", action="store_true",
                        help="also write NAME.fp16.onnx (half-precision trunk); with --tensorrt, build an fp16 engine")
    parser.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, metavar="N",
                        help=f"largest batch (people per call) of the TensorRT profile (default {DEFAULT_MAX_BATCH})")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: the checkpoint's folder)")
    parser.add_argument("--force", action="store_true", help="rebuild artifacts even when the card has matching ones")
    parser.add_argument("--input-size", type=int, metavar="PX",
                        help="export the same weights for another crop size (a multiple of 32), as NAME_PX.onnx and "
                             "NAME_PX.card.json: smaller crops are faster on a CPU (bench/infer.py)")


def run(args: argparse.Namespace) -> int:
    # Imported here so that `main.py export --help` is fast and a broken torch install is one line.
    from model.commands import output_folder
    from model.net.checkpoint import CheckpointError, input_size_problem, load_checkpoint

    if args.max_batch < 1:
        print(f"export: --max-batch must be at least 1, got {args.max_batch}", file=sys.stderr)
        return 2
    if args.input_size is not None:  # checked before the checkpoint is read
        problem = input_size_problem(args.input_size)
        if problem:
            print(f"export: {problem}", file=sys.stderr)
            return 2
    try:
        checkpoint = load_checkpoint(args.checkpoint)
    except CheckpointError as e:
        print(f"export: {e}", file=sys.stderr)
        return 1
    if args.input_size is not None:
        checkpoint = checkpoint.at_input_size(args.input_size)
    out_dir = Path(args.out) if args.out else checkpoint.path.parent
    output_folder(str(out_dir))  # a file in the way or a folder that cannot be written: one line, exit 2
    try:
        return _export(checkpoint, out_dir, args)
    except (CheckpointError, CardError) as e:
        print(f"export: {e}", file=sys.stderr)
        return 1


def _export(checkpoint, out_dir: Path, args: argparse.Namespace) -> int:
    from model.net.checkpoint import CheckpointError
    from model.net.crop import CropSpec
    from export.parity import ParityError, fixed_inputs

    stem = checkpoint.path.stem + (f"_{args.input_size}" if args.input_size is not None else "")
    card_path = card_path_for(out_dir, stem)
    card = _start_card(checkpoint, out_dir, stem, card_path)
    net = checkpoint.build_network("cpu")
    inputs = fixed_inputs(CropSpec.from_card(card))
    reference = _torch_outputs(net, inputs)
    if not all(np.isfinite(v).all() for v in reference.values()):  # its card would run and find no one, ever
        raise CheckpointError(f"{checkpoint.path}: the network's own outputs are not finite (NaN or infinite "
                              "weights?); nothing exported")
    failed = False
    precisions = ("fp32", "fp16") if args.fp16 else ("fp32",)
    for precision in precisions:
        try:
            card = _ensure_onnx(card, net, out_dir, stem, inputs, reference, args.force, precision)
        except ParityError as e:
            print(f"export: {e}", file=sys.stderr)
            failed = True
    if args.tensorrt and not failed:
        try:
            card, ok = _ensure_tensorrt(card, out_dir, stem, inputs, reference, args)
            failed = failed or not ok
        except ParityError as e:
            print(f"export: {e}", file=sys.stderr)
            failed = True
    write_card(card, card_path)
    print(f"card: {card_path} ({len(card.artifacts)} artifact(s), checkpoint sha256 {card.checkpoint_sha256[:12]})")
    return 1 if failed else 0


def _start_card(checkpoint, out_dir: Path, stem: str, card_path: Path) -> ModelCard:
    """A card for this checkpoint, keeping the artifacts of an existing card of the same checkpoint."""
    fresh = build_card(checkpoint, out_dir, stem)
    if not card_path.is_file():
        return fresh
    try:
        old = read_card(card_path)
    except CardError as e:
        print(f"export: replacing unreadable card ({e})")
        return fresh
    if old.checkpoint_sha256 != checkpoint.sha256:
        print(f"export: {card_path.name} described checkpoint {old.checkpoint_sha256[:12]}; starting a new card")
        return fresh
    return replace(fresh, artifacts=old.artifacts)


def build_card(checkpoint, out_dir: Path, stem: str) -> ModelCard:
    """The model card of a checkpoint, without artifacts."""
    import onnx
    import torch

    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = None
    cfg, pre = checkpoint.config, checkpoint.preprocessing
    j = cfg.num_joints
    outputs = (
        OutputSpec(
            "uvz", (-1, j, 3),
            "soft-argmax 2.5D joints: u, v in crop pixels (pixel centres at integers, crop of input_size px; "
            "map to the image with the crop recipe), z = root-relative depth, camera z forward",
            "px, px, mm",
        ),
        OutputSpec(
            "joints_3d", (-1, j, 3),
            "lifted 3D joints, root-relative (joint 0 at the origin), camera axes x right, y down, z forward, "
            f"scale-normalised so that the neck-to-knee geodesic is {cfg.output_geodesic_mm or cfg.geodesic_mm:g} mm (the paper's Eq. 10)",
            "mm",
        ),
        OutputSpec(
            "joint_confidence", (-1, j),
            "the network's confidence per joint: the mass of the joint's 2D heatmap (its volume's softmax summed "
            "over depth) within 1 heatmap cell of the soft-argmax (u, v), fading to 0 at 2 cells; near 1 for a sharp single peak, low "
            "for a spread or doubled map (hidden or absent joints)",
            "probability mass in [0, 1]",
        ),
    )
    if cfg.person_head:
        outputs += (OutputSpec(
            "person_score", (-1,),
            "probability that the crop holds a person (a head on the pooled backbone features, trained with "
            "background crops and person-detector false positives as negatives); the app drops crops below "
            "its threshold before tracking",
            "probability in [0, 1]",
        ),)
    return ModelCard(
        name=stem,
        joint_names=tuple(checkpoint.skeleton.joint_names),
        parents=tuple(checkpoint.skeleton.parents),
        input_name="images",
        input_size=int(pre["input_size"]),
        channel_order=str(pre["channel_order"]),
        pixel_scale=float(pre["pixel_scale"]),
        pixel_mean=tuple(float(v) for v in pre["pixel_mean"]),
        pixel_std=tuple(float(v) for v in pre["pixel_std"]),
        crop_padding=float(pre["crop_padding"]),
        crop_aspect=float(pre["crop_aspect"]),
        outputs=outputs,
        checkpoint_file=os.path.relpath(checkpoint.path.resolve(), out_dir.resolve()),
        checkpoint_sha256=checkpoint.sha256,
        model_config=checkpoint.config.to_dict(),
        exporter={
            "torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort_version,
            "python": platform.python_version(), "numpy": np.__version__,
        },
        created_utc=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _torch_outputs(net, inputs: np.ndarray) -> dict:
    import torch

    with torch.inference_mode():
        return {name: t.numpy() for name, t in net.infer_outputs(torch.from_numpy(inputs)).items()}


def _cached(card: ModelCard, out_dir: Path, file: str, force: bool, **machine) -> Artifact | None:
    """The card's record of `file` if it is still valid here (and not --force), else None."""
    for artifact in card.artifacts:
        if artifact.file == file and not force:
            try:
                check_artifact(card, artifact, out_dir, **machine)
                return artifact
            except StaleArtifactError as e:
                print(f"export: rebuilding: {e}")
    return None


def _ensure_onnx(card, net, out_dir, stem, inputs, reference, force, precision: str = "fp32") -> ModelCard:
    from export.onnx_export import ONNX_OPSET, export_onnx
    from export.parity import compare, require

    file = onnx_filename(stem, precision)
    cached = _cached(card, out_dir, file, force)
    if cached is not None:
        print(f"onnx: {out_dir / file} is up to date (cached; {cached.parity.get('max_mm', float('nan')):.4f} mm, "
              f"{cached.parity.get('max_px', float('nan')):.4f} px at export)")
        return card
    started = time.perf_counter()
    metadata = {"checkpoint_sha256": card.checkpoint_sha256, "card": f"{stem}.card.json", "precision": precision}
    path = export_onnx(net, out_dir / file, metadata=metadata, precision=precision)
    print(f"onnx: wrote {path} ({precision}, opset {ONNX_OPSET}, dynamic batch, {path.stat().st_size / 1e6:.1f} MB, "
          f"{time.perf_counter() - started:.1f} s)")
    names = [o.name for o in card.outputs]
    outputs = _onnxruntime_outputs(path, card.input_name, inputs, names)
    result = require(compare(file, precision, reference, outputs))
    # Dynamic batch: a single crop must give the same answer as inside the batch.
    single = _onnxruntime_outputs(path, card.input_name, inputs[:1], names)
    require(compare(f"{file} batch 1", precision, {k: v[:1] for k, v in reference.items()}, single))
    print(f"onnx: {result.line()}")
    artifact = Artifact(
        kind="onnx", file=file, sha256=sha256_file(path), precision=precision, max_batch=0,
        checkpoint_sha256=card.checkpoint_sha256, opset=ONNX_OPSET, parity=result.to_dict(),
    )
    return card.with_artifact(artifact)


def onnx_filename(stem: str, precision: str) -> str:
    return f"{stem}.onnx" if precision == "fp32" else f"{stem}.{precision}.onnx"


def _onnxruntime_outputs(path: Path, input_name: str, inputs: np.ndarray, names: list[str]) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip(names, session.run(names, {input_name: inputs})))


def _ensure_tensorrt(card, out_dir, stem, inputs, reference, args) -> tuple[ModelCard, bool]:
    """Build (or reuse) the engine for this GPU; (card, False) with a one-line message if TensorRT can't run."""
    from export.parity import compare, require
    from export.tensorrt_build import build_engine, tensorrt_status
    from export.tensorrt_runtime import TensorRTRunner, gpu_identity

    trt, reason = tensorrt_status()
    if trt is None:
        print(f"tensorrt: not built: {reason}", file=sys.stderr)
        return card, False
    gpu_name, capability = gpu_identity()
    precision = "fp16" if args.fp16 else "fp32"
    file = engine_filename(stem, card.checkpoint_sha256, precision, args.max_batch, gpu_name, capability, trt.__version__)
    machine = {"gpu_name": gpu_name, "compute_capability": capability, "tensorrt_version": trt.__version__}
    cached = _cached(card, out_dir, file, args.force, **machine)
    if cached is not None:
        print(f"tensorrt: {out_dir / file} is up to date (cached)")
        return card, True
    source = onnx_filename(stem, precision)
    started = time.perf_counter()
    path = build_engine(out_dir / source, out_dir / file, card.input_name, card.input_size, args.max_batch)
    print(f"tensorrt: wrote {path} ({precision}, batch 1..{args.max_batch}, {gpu_name} sm{capability.replace('.', '')}, "
          f"TensorRT {trt.__version__}, {time.perf_counter() - started:.0f} s)")
    artifact = Artifact(
        kind="tensorrt", file=file, sha256=sha256_file(path), precision=precision, max_batch=args.max_batch,
        checkpoint_sha256=card.checkpoint_sha256, gpu_name=gpu_name, compute_capability=capability,
        tensorrt_version=trt.__version__, source=source,
    )
    runner = TensorRTRunner(path, card.input_name, tuple(o.name for o in card.outputs))
    try:
        result = require(compare(file, precision, reference, runner.run(inputs)))
    finally:
        runner.close()
    print(f"tensorrt: {result.line()}")
    return card.with_artifact(replace(artifact, parity=result.to_dict())), True
