"""Distils a cheaper stride-8 copy of a trained network from it: same backbone, 24x24 instead of 48x48 heads.

    python -m model.training.compress --teacher runs/teacher.pt --data out/distill --out runs/compress --minutes 85
    python -m model.training.compress --out runs/compress --ship assets/cascade_light.pt [--person-head DONOR.pt] [--input-size 160]
        [--from CHECKPOINT] [--output-geodesic-from out/distill/train.npz] [--crop-padding P]

Why: on a CPU the light network's heads at 48x48 cost about 80 % of a crop's time (the 1x1 volume conv
alone reads 257 channels at 2,304 positions). The student keeps the teacher's first two deconvs and every
head, but stops the context branch at stride 8 (24x24 heatmaps at 192 px): about 2.3x faster per crop
in ONNX Runtime (bench/_probe numbers in assets/README.md). Soft-argmax is sub-pixel, and the lifting
block reads size-normalised coordinates, so both carry over.

How: the student starts from the teacher's weights wherever names and shapes match (backbone, deconvs
1-2, every head conv, the lifting block). The backbone and the lifting block stay frozen (the same
features, and the same 2.5D -> 3D map); everything between them learns to reproduce the teacher's
outputs on augmented training crops (model/data/datasets/distill.py, fresh augmentation every step):
  - the 2D marginal of each joint's volume, the teacher's 48x48 summed into 2x2 cells (KL divergence),
  - the depth marginal (same bins; KL), the soft-argmax u, v in crop pixels and z in mm (L1),
  - the lifted 3D joints (L1, in decimetres), and the joint / bone heatmaps 2x2-averaged (MSE),
    which keep the cascade's intermediate maps meaning what they meant.
The backbone runs once per batch for both networks (CascadeNet.decode). Learning rate: Adam, warm-up,
cosine over the wall-clock budget. OUT/weights.pt (export format) and OUT/last.pt (+ optimiser, for
--resume) are written every --save-minutes. --ship writes OUT/weights.pt as an fp16 checkpoint, with the
person-score head of DONOR (a checkpoint with the same backbone, bit for bit: the head reads only the
backbone's pooled features, so it carries over unchanged). --input-size sets the crop size the shipped
checkpoint declares (its export and the app use it): the weights fit any multiple of 32, and 160 px was
both faster and more accurate on the held-out camera than the 192 px the student was distilled at
(assets/README.md). --crop-padding sets the crop side / person box side it declares: training crops
were 1.25 x the box of the labelled joints times the augmentation's scale (median 1.32 x), while the app's
boxes are larger than the joints (its tracked people's boxes 1.21 x, its detectors' 1.14-1.29 x;
bench/box_framing.py): 1.10 frames a tracked person in the app as training did. Measured and not
shipped (steadier bones at 1.25; assets/README.md, "Crop framing").
"""

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from model.data.augment import AugmentConfig
from model.net.checkpoint import inference_config, load_checkpoint, make_payload, resume_training, save_checkpoint
from model.net.config import ModelConfig
from model.data.datasets.distill import DistillAugment, DistillCrops, background_pool, load_split
from model.net.network import CascadeNet, CascadeOutput, grid_to_crop

CHECKPOINT_FORMAT = "cascade3d-compress"


@dataclass(frozen=True)
class CompressConfig:
    """The recipe of a compressed student."""

    batch_size: int = 16  # crops per step; the backbone and teacher run without gradients, so batches are cheap
    lr: float = 5e-4  # Adam; lower than training from scratch: the student starts from the teacher's heads
    warmup_steps: int = 30
    minutes: float = 90.0  # wall-clock budget; the cosine schedule follows elapsed time
    w_heatmap: float = 1.0  # KL of the 2D marginals
    w_depth: float = 0.5  # KL of the depth marginals
    w_uvz: float = 1.0  # L1 of u, v (crop px / stride) and z (mm / 100)
    w_pose: float = 1.0  # L1 of the lifted joints, decimetres
    w_maps: float = 10.0  # MSE of the intermediate joint / bone heatmaps (values ~0-1, so MSE is small)
    threads: int = 2
    seed: int = 0


def student_config(cfg: ModelConfig) -> ModelConfig:
    """The teacher's config with the context branch stopped at stride 8 (two deconvs instead of three)."""
    assert len(cfg.deconv_channels) == 3, "the teacher must have stride-4 heads"
    return cfg.replace(deconv_channels=cfg.deconv_channels[:2])


def init_student(teacher: CascadeNet, cfg: ModelConfig) -> tuple[CascadeNet, list[str]]:
    """A student of config `cfg` holding the teacher's weights wherever name and shape match; returns
    it and the names it did not get (the dropped third deconv's are the teacher's, not listed)."""
    student = CascadeNet(inference_config(cfg))  # no pretrained backbone: the teacher's replaces it
    theirs = teacher.state_dict()
    mine = student.state_dict()
    fresh = [k for k, v in mine.items() if k not in theirs or theirs[k].shape != v.shape]
    student.load_state_dict({k: (theirs[k] if k not in fresh else v) for k, v in mine.items()})
    return student, fresh


def frozen_parts(net: CascadeNet) -> list[torch.nn.Module]:
    """The student's backbone and lifting block: shared with / copied from the teacher, never trained."""
    parts = [net.backbone, net.lifting] + ([net.person_head] if net.person_head is not None else [])
    for part in parts:
        for p in part.parameters():
            p.requires_grad_(False)
    return parts


def pool2(maps: torch.Tensor) -> torch.Tensor:
    """(B, K, H, W) -> (B, K, H/2, W/2), 2x2 means (stride-4 maps onto the stride-8 grid; cells align)."""
    return F.avg_pool2d(maps, 2)


def kl(target: torch.Tensor, pred: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """Mean over batch and joints of KL(target || pred) summed over `dims` (both distributions)."""
    eps = 1e-8
    return (target * ((target + eps).log() - (pred + eps).log())).sum(dim=dims).mean()


def compress_loss(student: CascadeOutput, teacher: CascadeOutput, scfg: ModelConfig, tcfg: ModelConfig,
                  ccfg: CompressConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """The distillation loss (module docstring) of a batch, and its terms."""
    target_2d = pool2(teacher.heatmap_2d) * 4.0  # summed: still a distribution
    heat = kl(target_2d, student.heatmap_2d, (2, 3))
    depth = kl(teacher.depth_marginal, student.depth_marginal, (2,))
    s_crop, t_crop = grid_to_crop(student.uvz, scfg), grid_to_crop(teacher.uvz, tcfg)
    uv = (s_crop[..., :2] - t_crop[..., :2]).abs().mean() / scfg.stride
    z = (s_crop[..., 2] - t_crop[..., 2]).abs().mean() / 100.0
    pose = (student.joints_3d - teacher.joints_3d).abs().mean() / 100.0
    maps = F.mse_loss(student.joint_heatmaps, pool2(teacher.joint_heatmaps)) + \
        F.mse_loss(student.bone_heatmaps, pool2(teacher.bone_heatmaps))
    loss = (ccfg.w_heatmap * heat + ccfg.w_depth * depth + ccfg.w_uvz * (uv + z) + ccfg.w_pose * pose
            + ccfg.w_maps * maps)
    logs = {"heat": heat, "depth": depth, "uv": uv, "z": z, "pose": pose, "maps": maps, "loss": loss}
    return loss, {k: float(v.detach()) for k, v in logs.items()}


def lr_factor(step: int, progress: float, ccfg: CompressConfig) -> float:
    warm = min(1.0, (step + 1) / ccfg.warmup_steps)
    return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _save(student: CascadeNet, opt, ccfg: CompressConfig, teacher_path: str, step: int, elapsed: float,
          logs: dict, out_dir: str, frozen: list) -> None:
    student.eval()
    payload = make_payload(student, student.cfg, format=CHECKPOINT_FORMAT, train_config=asdict(ccfg),
                           progress={"step": step, "elapsed_s": elapsed, "last_losses": logs,
                                     "teacher": os.path.basename(teacher_path)})
    save_checkpoint(os.path.join(out_dir, "weights.pt"), payload)
    payload["optimizer"] = opt.state_dict()
    save_checkpoint(os.path.join(out_dir, "last.pt"), payload)
    student.train()
    for part in frozen:
        part.eval()
    print(f"saved step {step} ({elapsed / 60:.1f} min) to {out_dir}", flush=True)


def train(teacher_path: str, data_dir: str, out_dir: str, ccfg: CompressConfig, save_minutes: float,
          resume: bool) -> str:
    """Runs the distillation (module docstring); returns OUT/weights.pt."""
    torch.set_num_threads(ccfg.threads)
    torch.manual_seed(ccfg.seed)
    os.makedirs(out_dir, exist_ok=True)
    ckpt = load_checkpoint(teacher_path)
    teacher = ckpt.build_network("cpu").eval()
    tcfg = ckpt.config
    scfg = student_config(tcfg)
    student, fresh = init_student(teacher, scfg)
    print(f"student: heatmaps {scfg.heatmap_size}x{scfg.heatmap_size} (teacher {tcfg.heatmap_size}); "
          f"fresh tensors: {fresh or 'none'}", flush=True)
    for p in teacher.parameters():
        p.requires_grad_(False)
    frozen = frozen_parts(student)
    trainable = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=ccfg.lr)
    step, elapsed_before = 0, 0.0
    progress = resume_training(os.path.join(out_dir, "last.pt"), student, opt) if resume else None
    if progress is not None:
        step, elapsed_before = progress["step"], progress["elapsed_s"]

    data = load_split(os.path.join(data_dir, "train.npz"))
    from model.data.distill import VTEST, pose2sim_dir

    videos = [VTEST] if os.path.isfile(VTEST) else []
    videos += [os.path.join(pose2sim_dir(), "Demo_SinglePerson", "videos", f"cam0{i}.mp4") for i in (1, 3)]
    backgrounds = background_pool(videos, 300, data["crops"].shape[1], ccfg.seed)
    dataset = DistillCrops(data, tcfg.input_size, AugmentConfig(), DistillAugment(), backgrounds, ccfg.seed)
    print(f"compress: {len(dataset)} crops, {len(backgrounds)} backgrounds, {sum(p.numel() for p in trainable)} "
          f"trainable parameters", flush=True)

    budget = ccfg.minutes * 60.0
    start = last_save = time.perf_counter()
    student.train()
    for part in frozen:
        part.eval()  # BatchNorm statistics of the shared backbone stay the teacher's
    logs: dict = {}
    epoch = step // max(1, len(dataset) // ccfg.batch_size)
    while elapsed_before + time.perf_counter() - start < budget:
        dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=ccfg.batch_size, shuffle=True, drop_last=True, num_workers=0,
                            generator=torch.Generator().manual_seed(ccfg.seed + epoch))
        for batch in loader:
            elapsed = elapsed_before + time.perf_counter() - start
            progress = elapsed / budget
            if progress >= 1.0:
                break
            for group in opt.param_groups:
                group["lr"] = ccfg.lr * lr_factor(step, progress, ccfg)
            with torch.no_grad():
                features = teacher.backbone(batch.image)
                target = teacher.decode(features)
            loss, logs = compress_loss(student.decode(features), target, scfg, tcfg, ccfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 10.0)
            opt.step()
            step += 1
            if step % 10 == 0:
                print(json.dumps({"step": step, "min": round(elapsed / 60, 2),
                                  **{k: round(v, 4) for k, v in logs.items()}}), flush=True)
            if time.perf_counter() - last_save > save_minutes * 60:
                _save(student, opt, ccfg, teacher_path, step, elapsed, logs, out_dir, frozen)
                last_save = time.perf_counter()
        epoch += 1
    elapsed = elapsed_before + time.perf_counter() - start
    _save(student, opt, ccfg, teacher_path, step, elapsed, logs, out_dir, frozen)
    print(f"done: {step} steps, {elapsed / 60:.1f} min", flush=True)
    return os.path.join(out_dir, "weights.pt")


def ship(src: str, dst: str, person_head_from: str | None = None, input_size: int | None = None,
         output_geodesic_mm: float | None = None, crop_padding: float | None = None) -> None:
    """Write the student `src` to `dst` as an fp16 checkpoint, grafting `person_head_from`'s person head, for
    crops of `input_size` px where given (the export and the app then use that size), with outputs
    scaled to `output_geodesic_mm` neck-to-knee where given (ModelConfig.output_geodesic_mm), and crops of
    `crop_padding` x the app's person box where given (else `src`'s own padding; bench/box_framing.py).

    The graft is refused (CheckpointError) unless the donor's backbone equals the student's, tensor for
    tensor: a head trained on other features would score nonsense."""
    from model.net.checkpoint import CheckpointError, input_size_problem, read_checkpoint

    payload = read_checkpoint(src)
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["model"].items()}
    cfg = ModelConfig.from_dict(payload["model_config"])
    if person_head_from:
        donor = read_checkpoint(person_head_from)
        theirs = {k: v.float() if v.is_floating_point() else v for k, v in donor["model"].items()}
        backbone = [k for k in state if k.startswith("backbone.")]
        changed = [k for k in backbone if k not in theirs or not torch.equal(theirs[k], state[k])]
        if changed or not backbone:
            raise CheckpointError(f"{person_head_from}: its backbone differs from {src}'s ({len(changed)} tensors); "
                                  f"its person head would read other features")
        head = {k: v for k, v in theirs.items() if k.startswith("person_head.")}
        width = donor["model_config"].get("person_head", 0)
        if not head or not width:
            raise CheckpointError(f"{person_head_from}: no person head to graft")
        state = {k: v for k, v in state.items() if not k.startswith("person_head.")} | head
        cfg = cfg.replace(person_head=width, person_taps=bool(donor["model_config"].get("person_taps", False)))
    if input_size is not None:
        problem = input_size_problem(input_size)
        if problem:
            raise CheckpointError(problem)
        cfg = cfg.replace(input_size=int(input_size))
    if output_geodesic_mm is not None:
        cfg = cfg.replace(output_geodesic_mm=round(float(output_geodesic_mm), 1))
    if crop_padding is None:
        crop_padding = payload.get("preprocessing", {}).get("crop_padding")
    elif not (math.isfinite(crop_padding) and 0.5 <= crop_padding <= 3.0):
        raise CheckpointError(f"crop padding {crop_padding}: expected a number from 0.5 to 3 (crop side / person box side)")
    net = CascadeNet(inference_config(cfg))
    net.load_state_dict(state)
    extra = {k: v for k, v in payload.items() if k not in ("model", "model_config", "skeleton", "preprocessing",
                                                           "optimizer", "stored_dtype")}
    if person_head_from:
        extra["person_head_from"] = os.path.basename(person_head_from)
    save_checkpoint(dst, make_payload(net.eval(), cfg, crop_padding, fp16=True, **extra))
    print(f"shipped {src} -> {dst} (fp16{', person head from ' + person_head_from if person_head_from else ''})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", help="the trained stride-4 checkpoint (the shipped one is already a student: "
                                          "`git show 92d9413:assets/cascade_light.pt` is its teacher)")
    parser.add_argument("--data", default="out/distill", help="`main.py distill` output (train.npz)")
    parser.add_argument("--out", default="runs/compress")
    parser.add_argument("--minutes", type=float, default=CompressConfig.minutes)
    parser.add_argument("--threads", type=int, default=CompressConfig.threads)
    parser.add_argument("--batch-size", type=int, default=CompressConfig.batch_size)
    parser.add_argument("--save-minutes", type=float, default=10.0)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument("--ship", metavar="DST", help="write OUT/weights.pt to DST as fp16 instead of training")
    parser.add_argument("--from", dest="source", metavar="CHECKPOINT",
                        help="with --ship: ship this checkpoint instead of OUT/weights.pt (e.g. the committed one)")
    parser.add_argument("--output-geodesic-from", metavar="TRAIN_NPZ",
                        help="with --ship: scale the outputs to the mean neck-to-knee length of these training "
                             "labels (model.data.datasets.distill.labels_geodesic_mm)")
    parser.add_argument("--person-head", metavar="DONOR", help="with --ship: graft DONOR's person-score head")
    parser.add_argument("--input-size", type=int, metavar="PX", help="with --ship: the crop size the shipped "
                        "checkpoint declares (default: the training size)")
    parser.add_argument("--crop-padding", type=float, metavar="P", help="with --ship: crop side / the app's person "
                        "box side that the shipped checkpoint declares (default: the source's; bench/box_framing.py)")
    args = parser.parse_args(argv)
    if args.ship:
        geodesic = None
        if args.output_geodesic_from:
            from model.data.datasets.distill import labels_geodesic_mm

            geodesic = labels_geodesic_mm(args.output_geodesic_from)
            print(f"{args.output_geodesic_from}: mean neck-to-knee {geodesic:.1f} mm", flush=True)
        ship(args.source or os.path.join(args.out, "weights.pt"), args.ship, args.person_head, args.input_size, geodesic,
             args.crop_padding)
        return 0
    if not args.teacher:
        parser.error("--teacher CHECKPOINT is needed to train")
    for path in (args.teacher, os.path.join(args.data, "train.npz")):
        if not os.path.isfile(path):
            print(f"{path}: not found", file=sys.stderr)
            return 2
    ccfg = CompressConfig(minutes=args.minutes, threads=args.threads, batch_size=args.batch_size)
    train(args.teacher, args.data, args.out, ccfg, args.save_minutes, args.resume)
    return 0


if __name__ == "__main__":
    sys.exit(main())
