"""`python main.py train CONFIG`: the paper's two-stage training of the cascaded network, with resume.

Stage 1 trains the whole network on mixed batches (half 3D, half 2D data) with every loss; stage 2
fine-tunes the 3D lifting block alone on 3D data with the same schedule, the rest frozen (BatchNorm
statistics included). Checkpoints record the weights, the model and training configs, the skeleton
and the preprocessing, so export and evaluation need nothing else; out_dir/last.pt is rewritten after
every epoch and a run resumes from it with --resume.

Several processes: `torchrun --nproc_per_node N main.py train CONFIG` (multi-node: torchrun's rendezvous,
--nnodes / --rdzv-endpoint) runs DistributedDataParallel, gloo on CPUs and NCCL on GPUs (one GPU per
process, cuda:LOCAL_RANK). batch_size stays the global batch: every process draws the same batches and
keeps its share (MixedBatchSampler's rank), so N processes see what one would, and gradients are averaged.
BatchNorm statistics are per process (no SyncBatchNorm: it needs GPUs); the result equals one process with
micro_batches = N. Rank 0 alone writes checkpoints and logs; --resume works as in one process.
"""

import argparse
import json
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, Dataset
from tqdm import tqdm

from model.net.checkpoint import CheckpointError, make_payload, read_checkpoint, save_checkpoint
from model.data.datasets import DATASETS, DatasetError, PoseRecord, dataset_root, load_records
from model.data.datasets.loader import CropDataset, CropSample, MixedBatchSampler, batch_share, mixed_counts
from model.data.datasets.synthetic_crops import SyntheticCrops
from model.training.losses import cascade_loss, pose_loss
from model.net.network import CascadeNet, normalise_uvz
from model.data.targets import make_targets, normalise_geodesic
from model.commands import output_folder
from model.errors import one_line
from model.training.train_config import ConfigError, TrainConfig, apply_override, config_from_dict, load_config

CHECKPOINT_FORMAT = "cascade3d-train"
CHECKPOINT_VERSION = 1


# ----------------------------------------------------------------------------- data

def make_dataset(name: str, cfg: TrainConfig, split: str, has_3d: bool, augment, seed: int) -> Dataset:
    """One dataset as CropSamples; 'synthetic' renders stick figures instead of reading files."""
    size = cfg.model.input_size
    if name == "synthetic":
        return SyntheticCrops(cfg.synthetic_size, size, augment, seed=seed, has_3d=has_3d,
                              mean=cfg.model.pixel_mean, std=cfg.model.pixel_std)
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: synthetic, {', '.join(DATASETS)}")
    records = load_records(name, dataset_root(name, cfg.data_root), split, cfg.protocol)
    if not records:
        raise DatasetError(f"{dataset_root(name, cfg.data_root)}: no usable {split} samples")
    if not has_3d:
        records = [strip_3d(r) for r in records]
    return CropDataset(records, (size, size), augment, seed=seed, padding=cfg.crop_padding,
                       mean=cfg.model.pixel_mean, std=cfg.model.pixel_std)


def strip_3d(record: PoseRecord) -> PoseRecord:
    """A record used as 2D-only data (its 3D labels dropped)."""
    return replace(record, joints_3d=np.zeros_like(record.joints_3d),
                   valid_3d=np.zeros_like(record.valid_3d), has_3d=False)


@dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job (rank 0 of 1 when run alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0  # its GPU on its node

    @property
    def is_main(self) -> bool:
        """The process that writes checkpoints and logs."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "Distributed":
        """From torchrun's RANK / WORLD_SIZE / LOCAL_RANK; one process when they are absent."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        return cls(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def training_data(cfg: TrainConfig, stage: int, dist: Distributed = Distributed()) -> tuple[ConcatDataset, MixedBatchSampler]:
    """Stage 1: 3D datasets + 2D datasets in fraction_3d / rest batches; stage 2: 3D datasets only.

    The sampler yields this process's share of each global batch (Distributed), further split into
    cfg.micro_batches by the trainer; a batch that does not split evenly is a one-line ConfigError."""
    part_3d = ConcatDataset([make_dataset(n, cfg, "train", True, cfg.augment, cfg.seed) for n in cfg.datasets_3d])
    parts = [part_3d]
    if stage == 1 and cfg.datasets_2d and cfg.fraction_3d < 1.0:
        parts.append(ConcatDataset([
            make_dataset(n, cfg, "train", False, cfg.augment, cfg.seed + 1) for n in cfg.datasets_2d
        ]))
    counts = mixed_counts(cfg.batch_size, cfg.fraction_3d, len(parts))
    shares = dist.world_size * cfg.micro_batches
    if any(c % shares for c in counts):
        raise ConfigError(f"config: batch_size {cfg.batch_size} ({' + '.join(map(str, counts))} samples of the 3D "
                          f"and 2D data) does not split evenly into {dist.world_size} process(es) x "
                          f"{cfg.micro_batches} micro-batch(es)")
    sampler = MixedBatchSampler([len(p) for p in parts], counts, seed=cfg.seed + 100 * stage,
                                rank=dist.rank, world_size=dist.world_size)
    if len(sampler) == 0:
        raise DatasetError(f"{cfg.data_root}: fewer 3D samples ({len(part_3d)}) than one batch needs ({counts[0]})")
    return ConcatDataset(parts), sampler


def set_epoch(dataset: Dataset, epoch: int) -> None:
    """Tell every leaf dataset the epoch (it seeds the per-sample augmentation)."""
    if isinstance(dataset, ConcatDataset):
        for child in dataset.datasets:
            set_epoch(child, epoch)
    elif hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)


# ----------------------------------------------------------------------------- checkpoints

# ----------------------------------------------------------------------------- training

def pick_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> CUDA when available, else CPU; anything else as torch understands it. 'auto' and a bare
    'cuda' mean cuda:local_rank (under torchrun each process of a node takes its own GPU)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"device {name!r}: not a device; use cpu, cuda, cuda:N or auto") from None
    if device.type not in ("cpu", "cuda"):  # mps, xpu, meta...: the project runs on neither
        raise ConfigError(f"device {name!r}: not supported; use cpu, cuda, cuda:N or auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
    return device


def learning_rate(base: float, decay_epochs: tuple[int, ...], factor: float, epoch: int) -> float:
    """Step schedule: base x factor^(number of decay epochs <= epoch), epochs 0-based."""
    return base * factor ** sum(1 for e in decay_epochs if epoch >= e)


def make_optimizer(cfg: TrainConfig, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=cfg.weight_decay)


class Trainer:
    """Runs the configured stages, writing checkpoints; resumable from any epoch boundary."""

    def __init__(self, cfg: TrainConfig, device: torch.device, resume: dict | None = None,
                 dist: Distributed = Distributed()) -> None:
        self.cfg, self.device, self.dist = cfg, device, dist
        if cfg.cpu_threads > 0:
            torch.set_num_threads(cfg.cpu_threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed % 2**32)
        self.net = CascadeNet(cfg.model).to(device)
        self.model = self.lifting = None  # what the steps call: the net (its lifting block) or their DDP wrappers
        self.batch_counts: tuple[int, ...] = ()  # samples of each data part in this process's batches
        self.progress = {"stage": cfg.stages[0], "epoch": 0, "global_step": 0}
        self.history: list[dict] = []
        self.resume_optimizer = None
        if resume is not None:
            self.net.load_state_dict(resume["model"])
            self.progress = {k: int(resume[k]) for k in ("stage", "epoch", "global_step")}
            self.history = list(resume.get("history", []))
            self.resume_optimizer = resume.get("optimizer"), resume.get("scaler")
        use_amp = cfg.amp and device.type == "cuda"
        self.amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if use_amp else None
        self.use_scaler = self.amp_dtype == torch.float16

    def stage_schedule(self, stage: int) -> tuple[int, float, tuple[int, ...]]:
        cfg = self.cfg
        if stage == 1:
            return cfg.epochs, cfg.lr, cfg.lr_decay_epochs
        return cfg.stage2_epochs, cfg.stage2_lr, cfg.stage2_lr_decay_epochs

    def payload(self, stage: int, epoch: int, optimizer, scaler) -> dict:
        return make_payload(
            self.net, self.cfg.model, crop_padding=self.cfg.crop_padding,
            format=CHECKPOINT_FORMAT,
            version=CHECKPOINT_VERSION,
            train_config=self.cfg.to_dict(),
            stage=stage,
            epoch=epoch,  # epochs of `stage` completed
            global_step=self.progress["global_step"],
            optimizer=optimizer.state_dict(),
            scaler=scaler.state_dict(),
            history=self.history,
            torch_version=str(torch.__version__),
        )

    def run(self) -> str:
        """All configured stages from the current progress; returns the path of the final checkpoint."""
        cfg = self.cfg
        final = os.path.join(cfg.out_dir, "final.pt")
        for stage in cfg.stages:
            if stage < self.progress["stage"]:
                continue
            start = self.progress["epoch"] if stage == self.progress["stage"] else 0
            self.train_stage(stage, start)
        return final

    def train_stage(self, stage: int, start_epoch: int) -> None:
        cfg, net = self.cfg, self.net
        epochs, base_lr, decay = self.stage_schedule(stage)
        if stage == 1:
            params = list(net.parameters())
        else:
            for p in net.heatmap_parameters():
                p.requires_grad_(False)
            params = net.lifting_parameters()
        self.model, self.lifting = net, net.lifting
        if self.dist.world_size > 1:
            # Wrapped after freezing: DDP averages the gradients of the parameters that still learn.
            ids = [self.device.index] if self.device.type == "cuda" else None
            if stage == 1:
                self.model = DistributedDataParallel(net, device_ids=ids)
            else:
                self.lifting = DistributedDataParallel(net.lifting, device_ids=ids)
        optimizer = make_optimizer(cfg, params, base_lr)
        scaler = torch.amp.GradScaler("cuda", enabled=self.use_scaler)
        if self.resume_optimizer is not None and stage == self.progress["stage"] and start_epoch > 0:
            optimizer_state, scaler_state = self.resume_optimizer
            if optimizer_state:
                optimizer.load_state_dict(optimizer_state)
            if scaler_state:
                scaler.load_state_dict(scaler_state)
        self.resume_optimizer = None
        if start_epoch >= epochs:
            self.finish_stage(stage, epochs, optimizer, scaler)
            return
        dataset, sampler = training_data(cfg, stage, self.dist)
        self.batch_counts = sampler.rank_counts
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.num_workers,
                            pin_memory=self.device.type == "cuda")
        for epoch in range(start_epoch, epochs):
            lr = learning_rate(base_lr, decay, cfg.lr_decay_factor, epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            # Dropout draws, resume-stable, different in every process.
            torch.manual_seed(cfg.seed * 1000 + stage * 100 + epoch + 1_000_003 * self.dist.rank)
            sampler.set_epoch(epoch)
            set_epoch(dataset, epoch)
            means = self.train_epoch(stage, epoch, epochs, loader, sampler, optimizer, scaler, lr)
            self.history.append({"stage": stage, "epoch": epoch, "lr": lr, **means})
            self.progress = {"stage": stage, "epoch": epoch + 1, "global_step": self.progress["global_step"]}
            self.save(os.path.join(cfg.out_dir, "last.pt"), self.payload(stage, epoch + 1, optimizer, scaler))
        self.finish_stage(stage, epochs, optimizer, scaler)

    def finish_stage(self, stage: int, epochs: int, optimizer, scaler) -> None:
        """Write stage1.pt / final.pt and move the progress to the next configured stage."""
        cfg = self.cfg
        payload = self.payload(stage, epochs, optimizer, scaler)
        later = [s for s in cfg.stages if s > stage]
        name = "final.pt" if not later else f"stage{stage}.pt"
        self.save(os.path.join(cfg.out_dir, name), payload)
        if later:
            self.progress = {"stage": later[0], "epoch": 0, "global_step": self.progress["global_step"]}
            self.save(os.path.join(cfg.out_dir, "last.pt"),
                      {**payload, "stage": later[0], "epoch": 0, "optimizer": {}, "scaler": {}})

    def save(self, path: str, payload: dict) -> None:
        """Rank 0 writes (every process holds the same weights after each step)."""
        if self.dist.is_main:
            save_checkpoint(path, payload)

    def train_epoch(self, stage, epoch, epochs, loader, sampler, optimizer, scaler, lr) -> dict:
        cfg, net = self.cfg, self.net
        steps = len(sampler) if cfg.max_steps_per_epoch <= 0 else min(len(sampler), cfg.max_steps_per_epoch)
        if stage == 1:
            net.train()
        else:
            net.eval()
            net.lifting.train()  # only the lifting block learns (and updates its BatchNorm statistics)
        sums: dict[str, float] = {}
        # Redirected to a log file, a bar redrawn a few times a second would bury the epoch summaries.
        bar = tqdm(total=steps, desc=f"stage {stage} epoch {epoch + 1}/{epochs}", unit="step", dynamic_ncols=True,
                   leave=True, file=sys.stderr, mininterval=0.1 if sys.stderr.isatty() else 30.0,
                   disable=not self.dist.is_main)
        started = time.perf_counter()
        done = 0
        try:
            for step, batch in enumerate(loader):
                if step >= steps:
                    break
                logs = self.step(stage, epoch + step / steps, batch, optimizer, scaler)
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v
                done += 1
                self.progress["global_step"] += 1
                if (step + 1) % max(1, cfg.log_every) == 0 or step + 1 == steps:
                    bar.set_postfix({k: f"{v / (step + 1):.4g}" for k, v in sums.items()} | {"lr": f"{lr:.1e}"})
                bar.update(1)
        finally:
            bar.close()  # also on errors, so an error message starts on a line of its own
        done = max(1, done)
        means = {k: v / done for k, v in sums.items()}
        if self.dist.world_size > 1 and means:
            # The logged losses are those of the global batches: the mean over the processes' shares.
            values = torch.tensor(list(means.values()), dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(values)
            means = dict(zip(means, (values / self.dist.world_size).tolist()))
        rate = done * cfg.batch_size / max(time.perf_counter() - started, 1e-9)
        if self.dist.is_main:
            tqdm.write(f"stage {stage} epoch {epoch + 1}/{epochs}: " + " ".join(f"{k}={v:.4g}" for k, v in means.items())
                       + f" ({rate:.1f} samples/s)", file=sys.stderr)
        return means

    def autocast(self):
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def step(self, stage: int, epoch: float, batch: CropSample, optimizer, scaler) -> dict[str, float]:
        """One optimisation step over this process's batch (in cfg.micro_batches parts); returns the mean
        loss terms as floats. Under torchrun DDP averages the gradients over the processes."""
        parts = self.cfg.micro_batches
        counts = self.batch_counts or (len(batch.image),)
        optimizer.zero_grad(set_to_none=True)
        wrapper = self.model if stage == 1 else self.lifting
        sums: dict[str, float] = {}
        for part in range(parts):
            chunk = batch if parts == 1 else CropSample(*(t[batch_share(counts, part, parts)] for t in batch))
            # Gradients are averaged across processes once, after the last micro-batch.
            sync = part == parts - 1 or not isinstance(wrapper, DistributedDataParallel)
            with nullcontext() if sync else wrapper.no_sync():
                loss, logs = self.loss(stage, epoch, chunk)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss at stage {stage} epoch {epoch:.2f}: {logs}")
                scaler.scale(loss / parts).backward()
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v / parts
        scaler.step(optimizer)
        scaler.update()
        return sums

    def loss(self, stage: int, epoch: float, batch: CropSample) -> tuple[torch.Tensor, dict[str, float]]:
        """The stage's loss on one (micro-)batch, through the DDP wrappers when there are several processes."""
        cfg, device = self.cfg, self.device
        images = batch.image.to(device, non_blocking=True)
        has_3d = batch.has_3d.to(device)
        joints_3d = batch.joints_3d.to(device)
        if stage == 1:
            targets = make_targets(batch.joints_2d.to(device), batch.valid_2d.to(device), joints_3d, has_3d,
                                   cfg.model, epoch=epoch)
            with self.autocast():
                out = self.model(images)
            return cascade_loss(out, targets, cfg.model)
        with torch.no_grad(), self.autocast():
            uvz = self.net(images).uvz  # the frozen network's 2.5D joints
        with self.autocast():
            lifted = self.lifting(normalise_uvz(uvz.float(), cfg.model))
        target = normalise_geodesic(joints_3d.float(), has_3d.float(), cfg.model.geodesic_mm)
        loss = cfg.model.w_pose * pose_loss(lifted, target, has_3d.float())
        return loss, {"pose": float(loss.detach()), "total": float(loss.detach())}


# ----------------------------------------------------------------------------- command line

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", help="YAML or JSON TrainConfig file (omit for the paper's defaults, "
                                                  "or with --resume to continue with the checkpoint's config)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field, dotted for nested ones (model.backbone=resnet18); repeatable")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint (e.g. OUT_DIR/last.pt)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto (overrides the config)")
    parser.add_argument("--out", dest="out_dir", metavar="DIR", help="where checkpoints go (overrides the config)")
    parser.add_argument("--out-dir", dest="out_dir", help=argparse.SUPPRESS)  # the old name, still accepted
    parser.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")


def resolve_config(args: argparse.Namespace, resume: dict | None) -> TrainConfig:
    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"device={args.device}")
    if args.out_dir:
        overrides.append(f"out_dir={args.out_dir}")
    if args.config is None and resume is not None and "train_config" in resume:
        cfg = config_from_dict(resume["train_config"])
        for assignment in overrides:
            cfg = apply_override(cfg, assignment)
        return cfg
    return load_config(args.config, overrides)


def run(args: argparse.Namespace) -> int:
    dist = Distributed.from_env()
    try:
        resume = read_checkpoint(args.resume) if args.resume else None
        cfg = resolve_config(args, resume)
        if args.print_config:
            if dist.is_main:
                print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        if resume is not None and resume["model_config"] != cfg.model.to_dict():
            raise CheckpointError(f"{args.resume}: its model config differs from this run's; "
                                  "resume with the same model settings (or omit CONFIG to reuse the checkpoint's)")
        device = pick_device(cfg.device, dist.local_rank)
        output_folder(cfg.out_dir, "--out")  # a file in the way fails here, not after the first epoch
        processes = ""
        if dist.world_size > 1:
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            torch.distributed.init_process_group(backend, rank=dist.rank, world_size=dist.world_size)
            processes = f" x {dist.world_size} processes ({backend})"
        if dist.is_main:
            print(f"training on {device}{processes}, stages {cfg.stages}, 3D {cfg.datasets_3d}, 2D {cfg.datasets_2d}, "
                  f"batch {cfg.batch_size}, out_dir {cfg.out_dir}", file=sys.stderr)
        final = Trainer(cfg, device, resume, dist).run()
    except (ConfigError, DatasetError, CheckpointError) as e:
        if dist.is_main:
            print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    if dist.is_main:
        print(f"done: {final}")
    return 0
