"""Trains the default weights (assets/) on the distillation set: a compact, time-budgeted CPU training loop.

    python -m model.training.distill_train --data out/distill --out runs/distill --minutes 85 --threads 1   # stage 1
    python -m model.training.distill_train --data out/distill --out runs/distill --stage2-steps 1000 --threads 1
    python -m model.training.distill_train --out runs/distill --ship assets/cascade_blazepose.pt            # fp16 copy

Stage 1 trains the whole network (but the frozen first EfficientNet blocks) with every loss of
model/training/losses.py. The lifting block's input is detached from the heatmap part (ModelConfig.lift_detach),
and it additionally sees DeepMimic mocap poses through random virtual cameras every step
(model/data/mocap.py), which the footage alone (three people, a few motions) cannot provide. Learning rate:
Adam, linear warm-up, cosine decay over the wall-clock budget; input sides drawn per step from
128/160/192 px (the network is fully convolutional up to the soft-argmax, and the lifting block reads
size-normalised coordinates), so cheap small steps teach the same weights that run at 192 px.
Stage 2 (the paper's second stage) fine-tunes the lifting block alone on the stage-1 network's own 2.5D
output for the training crops plus mocap. A checkpoint in the export format (model/net/checkpoint.py) is
written every --save-minutes, so a run cut short still leaves usable weights; --resume continues from
OUT/last.pt.
"""

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from model.data.augment import AugmentConfig
from model.net.checkpoint import input_size_problem, load_checkpoint, make_payload, read_checkpoint, resume_training, save_checkpoint
from model.net.config import ModelConfig
from model.data.datasets import DatasetError
from model.data.datasets.distill import DistillAugment, DistillCrops, background_pool, load_split
from model.training.losses import cascade_loss, pose_loss
from model.data.mocap import ViewConfig, crop_uv, humanoid_to_camera_axes, load_all, random_views
from model.net.network import CascadeNet, normalise_uvz
from model.net.skeleton import FLIP_INDEX
from model.data.targets import crop_to_grid, depth_to_grid, make_targets, normalise_geodesic

CHECKPOINT_FORMAT = "cascade3d-distill"


@dataclass(frozen=True)
class DistillTrainConfig:
    """The recipe of the shipped weights."""

    batch_size: int = 8  # crops per step: small data and little CPU favour more, smaller steps
    freeze_blocks: int = 10  # stem + the first 10 of 16 EfficientNet blocks stay ImageNet's: generic
    # edges and textures, and their backward pass is most of the CPU time of a step
    train_sizes: tuple[int, ...] = (128, 160, 192)  # input sides drawn per step: the fully convolutional
    size_probs: tuple[float, ...] = (0.4, 0.3, 0.3)  # net learns at low cost at 128 px and ships at 192
    mocap_batch: int = 128  # lifting-block samples per step from mocap through virtual cameras
    lr: float = 1e-3  # the paper's Adam learning rate (heads and lifting block)
    backbone_lr: float = 3e-4  # the pretrained backbone moves slower: 1k crops would wash out ImageNet features
    warmup_steps: int = 50  # linear warm-up: the fresh heads' first gradients are large
    w_mocap: float = 1.0  # weight of the mocap lifting loss (same units as L_pose)
    uv_noise: float = 0.6  # std of noise on mocap 2D inputs, heatmap px: the network's 2D is not exact
    z_noise: float = 1.0  # std of noise on mocap depth inputs, depth bins
    minutes: float = 55.0  # wall-clock budget; the schedule (cosine, bone sigma) follows elapsed time
    threads: int = 2  # torch threads: the machine has 2 cores
    seed: int = 0


def mocap_batch(poses_world: np.ndarray, n: int, cfg: ModelConfig, tcfg: DistillTrainConfig,
                rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n random mocap poses through random cameras -> (lifting input (n, J, 3) in [-1, 1],
    target (n, J, 3) root-relative mm, geodesic-normalised, camera axes)."""
    pick = poses_world[rng.integers(len(poses_world), size=n)]
    uv, cam = random_views(pick, rng, ViewConfig())
    flip = rng.random(n) < 0.5
    uv[flip, :, 0] = -uv[flip, :, 0]
    cam[flip, :, 0] = -cam[flip, :, 0]
    uv[flip] = uv[flip][:, list(FLIP_INDEX)]
    cam[flip] = cam[flip][:, list(FLIP_INDEX)]
    # Box-jittered crops as the augmented training crops: padding 1.25 x scale in [0.75, 1.25] and a shift.
    padding = 1.25 * rng.uniform(0.75, 1.25, n)
    crop = np.stack([crop_uv(uv[i:i + 1], cfg.input_size, padding[i])[0] for i in range(n)])
    crop += rng.normal(0, 0.05 * cfg.input_size, (n, 1, 2))
    grid_uv = crop_to_grid(torch.from_numpy(crop), cfg)
    rel = torch.from_numpy(cam - cam[:, :1])
    target = normalise_geodesic(rel, torch.ones(n, dtype=rel.dtype), cfg.geodesic_mm)
    z = depth_to_grid(target[..., 2], cfg)
    uvz = torch.cat([grid_uv, z[..., None]], dim=-1)
    noise = torch.from_numpy(rng.normal(0, 1, uvz.shape)) * torch.tensor([tcfg.uv_noise, tcfg.uv_noise, tcfg.z_noise])
    return normalise_uvz((uvz + noise).float(), cfg), target.float()


def checkpoint_payload(net: CascadeNet, cfg: ModelConfig, tcfg: DistillTrainConfig, step: int,
                       elapsed: float, logs: dict, fp16: bool = False) -> dict:
    """The export-format checkpoint (model/net/checkpoint.py): weights, model config, skeleton, preprocessing."""
    return make_payload(net, cfg, fp16=fp16, format=CHECKPOINT_FORMAT, train_config=asdict(tcfg),
                        progress={"step": step, "elapsed_s": elapsed, "last_losses": logs})


def mocap_poses(data_dir: str) -> np.ndarray:
    """Every DeepMimic pose, (N, 17, 3) mm in camera axes, from DATA/mocap.npz (written by `main.py distill`)."""
    path = os.path.join(data_dir, "mocap.npz")
    clips = load_all(path)
    if not clips:
        raise DatasetError(f"{path}: no mocap clips for the lifting block; install pybullet==3.2.7 "
                           f"(requirements.txt) and run `python main.py distill --out {data_dir}`")
    return humanoid_to_camera_axes(np.concatenate(list(clips.values())))


def lr_factor(step: int, progress: float, tcfg: DistillTrainConfig) -> float:
    warm = min(1.0, (step + 1) / tcfg.warmup_steps)
    return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train(data_dir: str, out_dir: str, tcfg: DistillTrainConfig, save_minutes: float, resume: bool) -> str:
    torch.set_num_threads(tcfg.threads)
    torch.manual_seed(tcfg.seed)
    rng = np.random.default_rng(tcfg.seed)
    cfg = ModelConfig.light()
    data = load_split(os.path.join(data_dir, "train.npz"))
    from model.data.distill import VTEST, pose2sim_dir

    videos = [VTEST] if os.path.isfile(VTEST) else []
    videos += [os.path.join(pose2sim_dir(), "Demo_SinglePerson", "videos", f"cam0{i}.mp4") for i in (1, 3)]
    backgrounds = background_pool(videos, 300, data["crops"].shape[1], tcfg.seed)
    dataset = DistillCrops(data, cfg.input_size, AugmentConfig(), DistillAugment(), backgrounds, tcfg.seed)
    poses = mocap_poses(data_dir)
    print(f"train: {len(dataset)} crops (3D weight >0: {(dataset.weight_3d > 0).sum()}), "
          f"{len(backgrounds)} backgrounds, {len(poses)} mocap poses", flush=True)

    net = CascadeNet(cfg)
    frozen = freeze_early_blocks(net, tcfg.freeze_blocks)
    backbone = [p for p in net.backbone.parameters() if p.requires_grad]
    ids = {id(p) for p in backbone}
    rest = [p for p in net.parameters() if id(p) not in ids]
    opt = torch.optim.Adam([{"params": backbone, "lr": tcfg.backbone_lr}, {"params": rest, "lr": tcfg.lr}])
    base_lrs = [tcfg.backbone_lr, tcfg.lr]
    step, elapsed_before, epoch = 0, 0.0, 0
    progress = resume_training(os.path.join(out_dir, "last.pt"), net, opt) if resume else None
    if progress is not None:
        step, elapsed_before, epoch = progress["step"], progress["elapsed_s"], progress.get("epoch", 0)
    budget = tcfg.minutes * 60.0
    start, last_save = time.perf_counter(), time.perf_counter()
    history = []
    net.train()
    set_frozen_eval(frozen)
    logs: dict = {}
    while True:
        dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=tcfg.batch_size, shuffle=True, drop_last=True, num_workers=0,
                            generator=torch.Generator().manual_seed(tcfg.seed + epoch))
        batches = iter(loader)
        while True:
            # The loader reads items lazily (no workers): the size set here applies to the next batch.
            size = int(rng.choice(tcfg.train_sizes, p=tcfg.size_probs))
            dataset.input_size = size
            step_cfg = cfg.replace(input_size=size)
            net.cfg = step_cfg
            try:
                batch = next(batches)
            except StopIteration:
                break
            elapsed = elapsed_before + time.perf_counter() - start
            progress = elapsed / budget
            if progress >= 1.0:
                break
            for group, base in zip(opt.param_groups, base_lrs):
                group["lr"] = base * lr_factor(step, progress, tcfg)
            tgt = make_targets(batch.joints_2d, batch.valid_2d, batch.joints_3d, batch.has_3d, step_cfg,
                               epoch=progress * cfg.bone_sigma_epochs)
            out = net(batch.image)
            loss, logs = cascade_loss(out, tgt, step_cfg)
            lift_in, lift_target = mocap_batch(poses, tcfg.mocap_batch, step_cfg, tcfg, rng)
            mocap = pose_loss(net.lifting(lift_in), lift_target, torch.ones(len(lift_target)))
            loss = loss + tcfg.w_mocap * mocap
            logs["mocap"] = float(mocap.detach())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            step += 1
            if step % 10 == 0:
                history.append({"step": step, "min": round(elapsed / 60, 2), "size": size,
                                **{k: round(v, 4) for k, v in logs.items()}})
                print(json.dumps(history[-1]), flush=True)
            if time.perf_counter() - last_save > save_minutes * 60:
                net.cfg = cfg
                _save(net, opt, cfg, tcfg, step, elapsed, epoch, logs, out_dir, frozen)
                last_save = time.perf_counter()
        if elapsed_before + time.perf_counter() - start >= budget:
            break
        epoch += 1
    net.cfg = cfg
    elapsed = elapsed_before + time.perf_counter() - start
    _save(net, opt, cfg, tcfg, step, elapsed, epoch, logs, out_dir, frozen)
    print(f"done: {step} steps, {epoch} epochs, {elapsed / 60:.1f} min", flush=True)
    return os.path.join(out_dir, "weights.pt")


def freeze_early_blocks(net: CascadeNet, blocks: int) -> list[torch.nn.Module]:
    """Freeze the EfficientNet stem and first `blocks` blocks (weights and BatchNorm statistics), or with the
    blazepose backbone its first `blocks` convs in graph order (model/net/blazepose.py; it has no BatchNorm)."""
    eff = getattr(net.backbone, "net", None)
    if blocks <= 0 or eff is None:
        return []
    if hasattr(eff, "convs"):
        modules = list(eff.convs[:blocks])
    elif hasattr(eff, "_blocks"):
        modules = [eff._conv_stem, eff._bn0, *eff._blocks[:blocks]]
    else:
        return []
    for m in modules:
        for p in m.parameters():
            p.requires_grad_(False)
    return modules


def set_frozen_eval(modules: list[torch.nn.Module]) -> None:
    for m in modules:
        m.eval()


def _save(net, opt, cfg, tcfg, step, elapsed, epoch, logs, out_dir, frozen=()) -> None:
    net.eval()
    payload = checkpoint_payload(net, cfg, tcfg, step, elapsed, logs)
    payload["progress"]["epoch"] = epoch
    save_checkpoint(os.path.join(out_dir, "weights.pt"), payload)  # export format, no optimizer
    payload["optimizer"] = opt.state_dict()
    save_checkpoint(os.path.join(out_dir, "last.pt"), payload)
    net.train()
    set_frozen_eval(list(frozen))
    print(f"saved step {step} ({elapsed / 60:.1f} min) to {out_dir}", flush=True)


def stage2(data_dir: str, out_dir: str, tcfg: DistillTrainConfig, steps: int, footage_batch: int = 64,
           limit: int = 0, input_size: int = 0) -> None:
    """The paper's second stage: the lifting block alone, everything before it frozen.

    Inputs are the trained network's own 2.5D output on every training crop (no augmentation; computed
    once) plus mocap poses through random cameras; targets the crops' 3D labels and the mocap 3D.
    Rewrites OUT/weights.pt (the stage-1 weights are kept as OUT/weights_stage1.pt). input_size: crops of
    that size (0 = the checkpoint's); the saved config keeps the checkpoint's input size.
    """
    import shutil

    torch.set_num_threads(tcfg.threads)
    rng = np.random.default_rng(tcfg.seed + 1)
    src = os.path.join(out_dir, "weights.pt")
    stage1 = os.path.join(out_dir, "weights_stage1.pt")
    data = load_split(os.path.join(data_dir, "train.npz"))
    if not os.path.isfile(stage1):
        if not os.path.isfile(src):
            raise DatasetError(f"{src}: no stage-1 weights to fine-tune; train them first (without --stage2-steps)")
        shutil.copyfile(src, stage1)
    ckpt = load_checkpoint(stage1)
    if input_size:
        problem = input_size_problem(input_size, "--stage2-size")
        if problem:
            raise DatasetError(problem)
        ckpt = ckpt.at_input_size(input_size)
    cfg = ckpt.config
    net = ckpt.build_network("cpu")
    dataset = DistillCrops(data, cfg.input_size, AugmentConfig(enabled=False), DistillAugment())
    count = len(dataset) if limit <= 0 else min(limit, len(dataset))
    inputs, targets, weights = [], [], []
    start = time.perf_counter()
    with torch.no_grad():
        for lo in range(0, count, 16):
            items = [dataset[i] for i in range(lo, min(lo + 16, count))]
            out = net(torch.stack([it.image for it in items]))
            inputs.append(normalise_uvz(out.uvz, cfg))
            w = torch.stack([it.has_3d for it in items])
            targets.append(normalise_geodesic(torch.stack([it.joints_3d for it in items]), w, cfg.geodesic_mm))
            weights.append(w)
    inputs, targets, weights = torch.cat(inputs), torch.cat(targets), torch.cat(weights)
    print(f"stage 2: network 2.5D of {count} crops in {time.perf_counter() - start:.0f} s", flush=True)
    poses = mocap_poses(data_dir)
    lifting = net.lifting
    lifting.train()
    opt = torch.optim.Adam(lifting.parameters(), lr=tcfg.lr)
    logs = {}
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = tcfg.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        pick = torch.from_numpy(rng.integers(len(inputs), size=footage_batch))
        lift_in, lift_target = mocap_batch(poses, tcfg.mocap_batch, cfg, tcfg, rng)
        x = torch.cat([inputs[pick], lift_in])
        y = torch.cat([targets[pick], lift_target])
        w = torch.cat([weights[pick], torch.ones(len(lift_target))])
        pred = lifting(x)
        footage = pose_loss(pred[:footage_batch], y[:footage_batch], w[:footage_batch])
        mocap = pose_loss(pred[footage_batch:], y[footage_batch:], w[footage_batch:])
        loss = footage + tcfg.w_mocap * mocap
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        logs = {"footage": float(footage.detach()), "mocap": float(mocap.detach())}
        if (step + 1) % 100 == 0:
            print(json.dumps({"stage2_step": step + 1, **{k: round(v, 4) for k, v in logs.items()}}), flush=True)
    net.eval()
    payload = read_checkpoint(stage1)
    payload["model"] = {k: v.clone() for k, v in net.state_dict().items()}
    payload["progress"]["stage2"] = {"steps": steps, "footage_crops": count, "last_losses": logs}
    save_checkpoint(src, payload)
    print(f"stage 2 done: {steps} steps -> {src}", flush=True)


def ship_fp16(src: str, dst: str) -> None:
    """Copy an export-format checkpoint with its floating-point tensors stored as fp16 (half the size;
    loading casts them back to fp32, see model/net/checkpoint.py)."""
    payload = read_checkpoint(src)
    payload["model"] = {k: v.half() if v.is_floating_point() else v for k, v in payload["model"].items()}
    payload["stored_dtype"] = "float16"
    save_checkpoint(dst, payload)
    print(f"{dst}: {os.path.getsize(dst) / 1e6:.1f} MB (fp16) from {src}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="out/distill", help="folder written by `python main.py distill`")
    p.add_argument("--out", default="runs/distill", help="checkpoint folder")
    p.add_argument("--minutes", type=float, default=DistillTrainConfig.minutes, help="wall-clock budget")
    p.add_argument("--threads", type=int, default=DistillTrainConfig.threads)
    p.add_argument("--batch-size", type=int, default=DistillTrainConfig.batch_size)
    p.add_argument("--save-minutes", type=float, default=5.0, help="checkpoint interval")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--ship", metavar="PATH", default="",
                   help="only write OUT/weights.pt with fp16 weights to PATH (e.g. assets/cascade_blazepose.pt) and exit")
    p.add_argument("--stage2-steps", type=int, default=0,
                   help="run only the paper's second stage (lifting block alone) for this many steps on OUT/weights.pt")
    p.add_argument("--stage2-limit", type=int, default=0, help="stage 2: use only the first N crops (quick checks)")
    p.add_argument("--stage2-size", type=int, default=0,
                   help="stage 2: crops of this many px (a multiple of 32; default the checkpoint's input size), to fit "
                        "the lifting block to the 2.5D of the size the card will be exported at")
    args = p.parse_args(argv)
    try:
        return _run(args)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.stage2_steps:
        tcfg = DistillTrainConfig(threads=args.threads)
        stage2(args.data, args.out, tcfg, args.stage2_steps, limit=args.stage2_limit, input_size=args.stage2_size)
        return 0
    if args.ship:
        ship_fp16(os.path.join(args.out, "weights.pt"), args.ship)
        return 0
    tcfg = DistillTrainConfig(minutes=args.minutes, threads=args.threads, batch_size=args.batch_size)
    if args.resume and os.path.isfile(os.path.join(args.out, "last.pt")):
        print("resuming: the training config of the checkpoint is NOT reloaded; pass the same options")
    train(args.data, args.out, tcfg, args.save_minutes, args.resume)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
