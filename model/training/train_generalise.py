"""Fine-tunes the shipped light network on every source there is, resumably: real crops, synthetic people,
mocap for the lifting block, and negatives for the person-score head.

    python -m model.training.train_generalise --out out/train_generalise --steps 3000 --minutes 60 --threads 1
    python -m model.training.train_generalise --out out/train_generalise --resume     # continue exactly where it stopped
    python -m model.training.train_generalise --out out/train_generalise --ship assets/cascade_blazepose.pt   # fp16 copy
    python -m model.training.train_generalise --init blazepose --freeze-blocks 14 --lr 1e-3 --out runs/blazepose   # new

Start: the weights committed in assets/ (--init; a fresh machine has nothing else), plus a new person-score
head (model/net/confidence.py) when they lack one; or `--init blazepose`: a new ModelConfig.blazepose() network
(BlazePose GHUM full from the mediapipe wheel, model/net/blazepose.py; new heads, the volume head starting from
BlazePose's own heatmaps) with the committed weights' lifting block (blazepose_network). Each step: batch_size positive crops (the distillation set
of `main.py distill`, and, when synthetic shards exist, a synthetic_share of them from model/data/synth's
shards, re-scanned at every epoch), `negatives` crops without a person (bench/mine_negatives.py), and
mocap poses through random cameras for the lifting block (as model/training/distill_train.py). Losses: every term
of model/training/losses.py on the positives (negatives carry no labels, so those terms ignore them), the mocap
lifting loss, and binary cross-entropy of the person logit (positives 1, negatives 0). --arm-weight W counts the
elbows and wrists W times in the 2D terms (joint heatmaps, 2.5D).

Exact resume. Everything random in a step is drawn from generators seeded by (seed, step) (input size,
synthetic and negative picks, mocap, edge bands, dropout via torch.manual_seed), and every item's
augmentation by (seed, epoch, index); the order of the real crops is a permutation seeded by
(seed, epoch). So the state of a run is: weights, Adam moments, the step (which fixes the learning rate:
warm-up then cosine over `steps`, never the wall clock), and the data position (epoch, position in
that epoch's permutation, the synthetic shards listed at the epoch's start). OUT/last.pt holds all of
it and is rewritten every --save-minutes and when the run stops (--minutes budget, or Ctrl-C);
OUT/weights.pt is the export-format checkpoint (no optimiser) of the same moment. Resuming continues bit
for bit as if the run had never stopped (tests/model/training/test_train_generalise.py), as long as the data on
disk and the thread counts are the same (a CPU sum over other threads rounds differently): --resume keeps the
run's recipe, and refuses the options that would change it (RECIPE_OPTIONS).
Never commit last.pt (optimiser state) or the data.
"""

import argparse
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset, default_collate

from model.atomic import atomic_path
from model.data.datasets.common import DatasetError
from model.data.datasets.loader import IMAGENET_MEAN, IMAGENET_STD, CropSample
from model.training.distill_train import DistillTrainConfig, freeze_early_blocks, mocap_batch, set_frozen_eval
from model.training.losses import cascade_loss, pose_loss
from model.net.network import CascadeNet
from model.net.skeleton import ARM_JOINTS, H36M, JOINT_NAMES, NUM_JOINTS
from model.data.targets import make_targets

RESUME_FORMAT = "cascade3d-train-generalise"
DEFAULT_INIT = "assets/cascade_blazepose.pt"
BLAZEPOSE_INIT = "blazepose"  # --init value for a new network on the BlazePose backbone (blazepose_network)
# Command-line options (argparse dests) that choose a run's start and recipe (GeneraliseConfig, stored in OUT/last.pt):
# --resume keeps the run's, so giving one with it is an error. --steps, --minutes, --save-minutes, --threads,
# --loader-threads and --device are run-time settings, honoured on resume too.
RECIPE_OPTIONS = ("init", "batch_size", "negatives_per_step", "lr", "backbone_lr", "head_lr", "freeze_blocks",
                  "train_sizes", "arm_weight")


@dataclass(frozen=True)
class GeneraliseConfig:
    """The fine-tuning recipe (one reason per field)."""

    steps: int = 3000  # length of the schedule; a run may stop earlier and resume later
    batch_size: int = 8  # positive crops per step (as the shipped weights were trained)
    synthetic_share: float = 0.5  # of the positives from synthetic shards, when there are any
    negatives: int = 2  # crops without a person per step: enough for the small head, cheap for the rest
    freeze_blocks: int = 10  # stem + first 10 EfficientNet blocks stay ImageNet's (as the shipped weights); with
    # the blazepose backbone its first N convs (14: the whole encoder at strides 2 and 4, the costly backward)
    train_sizes: tuple[int, ...] = (128, 160, 192)  # input sides drawn per step (see model/training/distill_train.py)
    size_probs: tuple[float, ...] = (0.4, 0.3, 0.3)
    mocap_batch: int = 128  # lifting-block samples per step from mocap through virtual cameras
    lr: float = 3e-4  # heads and lifting block: fine-tuning from trained weights, a third of the first run's
    backbone_lr: float = 1e-4  # the unfrozen backbone blocks, likewise a third
    head_lr: float = 1e-3  # the person head starts from scratch
    warmup_steps: int = 50  # linear warm-up: Adam's first moments are empty after a fresh start
    w_mocap: float = 1.0  # mocap lifting loss, as model/training/distill_train.py
    w_person: float = 1.0  # person-score BCE; comparable in size to the pose terms near convergence
    arm_weight: float = 1.0  # elbows and wrists count this many times in the 2D terms (joint heatmaps, 2.5D): the
    # joints issue 27 measures one by one, and the ones the network most often gets wrong
    edge_band_prob: float = 0.15  # black band on one side of a crop: the app's crops are black outside the frame,
    # so people at the frame's edge must not look like "not a person" (negatives near edges have such bands too)
    threads: int = 1  # torch threads: the development machine's other core serves everyone else
    loader_threads: int = 0  # threads cutting and augmenting crops (0 = in the training thread); a GPU needs many
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GeneraliseConfig":
        known = {f.name for f in fields(cls)}
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in known}
        return cls(**values)


@dataclass
class Sources:
    """What a run trains on. real: a Dataset of CropSample with set_epoch() and an input_size attribute
    (model.data.datasets.distill.DistillCrops). synthetic: shard list -> Dataset (or None when empty), and
    list_shards() the shards on disk now. negatives: Dataset of CropSample without labels, or None.
    people: detector boxes on people without pose labels (positives of the person head only), or None.
    mocap: (N, 17, 3) mm camera-axes poses for the lifting block, or None."""

    real: Dataset
    negatives: Dataset | None = None
    people: Dataset | None = None
    mocap: np.ndarray | None = None
    list_shards: Callable[[], list[str]] = list
    synthetic: Callable[[list[str]], Dataset | None] = lambda shards: None


@dataclass
class Position:
    """Where a run is: the next step, and the data position (epoch, index into that epoch's order, shards)."""

    step: int = 0
    epoch: int = 0
    offset: int = 0
    shards: tuple[str, ...] = ()


def arm_weights(arm_weight: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """(J,) per-joint loss weights: `arm_weight` for the elbows and wrists, 1 for the other joints."""
    w = torch.ones(NUM_JOINTS, device=device)
    w[[JOINT_NAMES.index(name) for name in ARM_JOINTS]] = arm_weight
    return w


def lr_factor(step: int, tcfg: GeneraliseConfig) -> float:
    """Linear warm-up, then cosine from 1 to 0.05 over tcfg.steps."""
    warm = min(1.0, (step + 1) / tcfg.warmup_steps)
    progress = min(step / max(tcfg.steps, 1), 1.0)
    return warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 1]).permutation(n)


def _set_size(dataset: Dataset | None, size: int) -> None:
    if dataset is not None and hasattr(dataset, "input_size"):
        dataset.input_size = size


def _set_epoch(dataset: Dataset | None, epoch: int) -> None:
    if dataset is not None and hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)


def _resized(sample: CropSample, size: int) -> CropSample:
    """A sample from a set with its own crop size, brought to `size` (labels scaled with the image)."""
    s = sample.image.shape[-1]
    if s == size:
        return sample
    image = torch.nn.functional.interpolate(sample.image[None], size=(size, size), mode="bilinear",
                                            align_corners=False, antialias=True)[0]
    joints_2d = (sample.joints_2d + 0.5) * (size / s) - 0.5
    return sample._replace(image=image, joints_2d=joints_2d)


def edge_band(images: torch.Tensor, rng: np.random.Generator, prob: float) -> torch.Tensor:
    """Blacken (in pixel space) a band of up to 35% of the crop from one side, on `prob` of the crops."""
    black = torch.tensor([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], dtype=images.dtype)[:, None, None]
    size = images.shape[-1]
    images = images.clone()
    for i in range(len(images)):
        if rng.random() >= prob:
            continue
        width = int(rng.uniform(0.05, 0.35) * size)
        side = int(rng.integers(4))
        if side == 0:
            images[i, :, :, :width] = black
        elif side == 1:
            images[i, :, :, size - width:] = black
        elif side == 2:
            images[i, :, :width, :] = black
        else:
            images[i, :, size - width:, :] = black
    return images


class Trainer:
    """One fine-tuning run: build with the network and sources, then run() or step() repeatedly."""

    def __init__(self, net: CascadeNet, sources: Sources, tcfg: GeneraliseConfig, device: str = "cpu") -> None:
        assert net.person_head is not None, "the network needs a person head (ModelConfig.person_head > 0)"
        self.device = torch.device(device)
        self.on_gpu = self.device.type == "cuda"
        net = net.to(self.device)
        if self.on_gpu:
            net = net.to(memory_format=torch.channels_last)
        self.net, self.sources, self.tcfg = net, sources, tcfg
        self.pool = None
        if tcfg.loader_threads:
            from concurrent.futures import ThreadPoolExecutor

            # OpenCV and numpy release the GIL while warping; map() keeps the order, so results are the same.
            self.pool = ThreadPoolExecutor(tcfg.loader_threads)
        self.cfg = net.cfg
        # None at the default weight: the 2D targets stay exactly as make_targets gives them.
        self.joint_weights = arm_weights(tcfg.arm_weight, self.device) if tcfg.arm_weight != 1.0 else None
        self.frozen = freeze_early_blocks(net, tcfg.freeze_blocks)
        head = list(net.person_head.parameters())
        backbone = [p for p in net.backbone.parameters() if p.requires_grad]
        taken = {id(p) for p in head + backbone}
        rest = [p for p in net.parameters() if p.requires_grad and id(p) not in taken]
        self.groups = [(backbone, tcfg.backbone_lr), (rest, tcfg.lr), (head, tcfg.head_lr)]
        self.opt = torch.optim.Adam([{"params": p, "lr": lr} for p, lr in self.groups])
        self.pos = Position()
        self.order = epoch_order(len(sources.real), tcfg.seed, 0)
        self.synthetic: Dataset | None = None
        self._start_epoch(0, None)

    # ------------------------------------------------------------------ data position
    def _start_epoch(self, epoch: int, shards: tuple[str, ...] | None) -> None:
        """Epoch `epoch` of the real crops; the synthetic shards found now (or the given ones, on resume)."""
        self.pos.epoch, self.pos.offset = epoch, 0
        self.order = epoch_order(len(self.sources.real), self.tcfg.seed, epoch)
        self.pos.shards = tuple(self.sources.list_shards()) if shards is None else tuple(shards)
        self.synthetic = self.sources.synthetic(list(self.pos.shards)) if self.pos.shards else None
        for dataset in (self.sources.real, self.synthetic, self.sources.negatives):
            _set_epoch(dataset, epoch)

    def _real_indices(self, count: int) -> list[int]:
        if self.pos.offset + count > len(self.order):
            self._start_epoch(self.pos.epoch + 1, None)
        picked = self.order[self.pos.offset:self.pos.offset + count]
        self.pos.offset += count
        return [int(i) for i in picked]

    def _batch(self, size: int, rng: np.random.Generator) -> tuple[CropSample, torch.Tensor]:
        """(collated CropSample of positives then negatives, person target (B,) 1/0)."""
        tcfg = self.tcfg
        n_syn = int(round(tcfg.batch_size * tcfg.synthetic_share)) if self.synthetic is not None and len(self.synthetic) else 0
        real = self._real_indices(tcfg.batch_size - n_syn)
        for dataset in (self.sources.real, self.synthetic, self.sources.negatives):
            _set_size(dataset, size)
        picks = [(self.sources.real, i) for i in real]
        if n_syn:
            picks += [(self.synthetic, int(i)) for i in rng.integers(len(self.synthetic), size=n_syn)]
        n_neg = tcfg.negatives if self.sources.negatives is not None and len(self.sources.negatives) else 0
        if n_neg:
            picks += [(self.sources.negatives, int(i)) for i in rng.integers(len(self.sources.negatives), size=n_neg)]
        fetch = lambda pick: _resized(pick[0][pick[1]], size)  # noqa: E731
        items = list(self.pool.map(fetch, picks)) if self.pool else [fetch(p) for p in picks]
        batch = default_collate(items)
        batch = batch._replace(image=edge_band(batch.image, rng, tcfg.edge_band_prob))
        target = torch.cat([torch.ones(len(items) - n_neg), torch.zeros(n_neg)])
        return batch, target

    # ------------------------------------------------------------------ one step
    def step(self) -> dict:
        """One optimisation step; returns its losses. Everything random is seeded by (seed, step)."""
        tcfg, cfg, net = self.tcfg, self.cfg, self.net
        step = self.pos.step
        rng = np.random.default_rng([tcfg.seed, step, 2])
        torch.manual_seed(tcfg.seed * 1_000_003 + step)  # dropout
        size = int(rng.choice(tcfg.train_sizes, p=tcfg.size_probs))
        step_cfg = cfg.replace(input_size=size)
        net.cfg = step_cfg
        try:
            batch, person_target = self._batch(size, rng)
            for group, (_, base) in zip(self.opt.param_groups, self.groups):
                group["lr"] = base * lr_factor(step, tcfg)
            batch = CropSample(*(t.to(self.device, non_blocking=True) for t in batch))
            person_target = person_target.to(self.device)
            tgt = make_targets(batch.joints_2d, batch.valid_2d, batch.joints_3d, batch.has_3d, step_cfg,
                               epoch=cfg.bone_sigma_epochs)  # the final (narrowest) bones of the first run
            if self.joint_weights is not None:
                tgt = tgt._replace(joint_weight=tgt.joint_weight * self.joint_weights)
            images = batch.image.contiguous(memory_format=torch.channels_last) if self.on_gpu else batch.image
            # bf16 autocast on a GPU (no loss scaling needed); the losses cast predictions to float32.
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.on_gpu):
                out = net(images)
            loss, logs = cascade_loss(out, tgt, step_cfg)
            person = torch.nn.functional.binary_cross_entropy_with_logits(out.person_logit.float(), person_target)
            loss = loss + tcfg.w_person * person
            logs["person"] = float(person.detach())
            if self.sources.mocap is not None and tcfg.mocap_batch:
                lift_in, lift_target = mocap_batch(self.sources.mocap, tcfg.mocap_batch, step_cfg,
                                                   DistillTrainConfig(), rng)
                lift_target = lift_target.to(self.device)
                mocap = pose_loss(net.lifting(lift_in.to(self.device)), lift_target,
                                  torch.ones(len(lift_target), device=self.device))
                loss = loss + tcfg.w_mocap * mocap
                logs["mocap"] = float(mocap.detach())
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            self.opt.step()
        finally:
            net.cfg = cfg
        self.pos.step += 1
        logs["size"] = size
        return logs

    # ------------------------------------------------------------------ checkpoints
    def weights_payload(self) -> dict:
        """The export-format checkpoint (model/net/checkpoint.py) of the current weights, fp32."""
        cfg = self.cfg
        return {
            "format": RESUME_FORMAT,
            "model": {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()},
            "model_config": cfg.to_dict(),
            "skeleton": H36M.to_dict(),
            "preprocessing": {"input_size": cfg.input_size, "channel_order": "RGB", "pixel_scale": 255.0,
                              "pixel_mean": list(cfg.pixel_mean), "pixel_std": list(cfg.pixel_std),
                              "crop_padding": 1.25, "crop_aspect": 1.0},
            "train_config": self.tcfg.to_dict(),
            "progress": {"step": self.pos.step, "epoch": self.pos.epoch},
        }

    def save(self, out_dir: str) -> None:
        """OUT/weights.pt (export format) and OUT/last.pt (plus optimiser and data position), atomically."""
        payload = self.weights_payload()
        with atomic_path(os.path.join(out_dir, "weights.pt")) as tmp:
            torch.save(payload, tmp)
        payload["optimizer"] = self.opt.state_dict()
        payload["position"] = {"step": self.pos.step, "epoch": self.pos.epoch, "offset": self.pos.offset,
                               "shards": list(self.pos.shards)}
        with atomic_path(os.path.join(out_dir, "last.pt")) as tmp:
            torch.save(payload, tmp)

    def restore(self, path: str) -> None:
        """Continue from a last.pt written by save(): weights, optimiser, step and data position."""
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state.get("format") != RESUME_FORMAT or "position" not in state:
            raise DatasetError(f"{path}: not a resumable checkpoint of model/training/train_generalise.py")
        self.net.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        p = state["position"]
        self._start_epoch(int(p["epoch"]), tuple(p["shards"]))
        self.pos.step, self.pos.offset = int(p["step"]), int(p["offset"])

    def train_mode(self) -> None:
        self.net.train()
        set_frozen_eval(self.frozen)


def pooled_features(net: CascadeNet, dataset: Dataset, count: int, size: int, seed: int) -> torch.Tensor:
    """The person head's input, pooled backbone features (N, 2 Cb), of `count` augmented items of `dataset`
    (drawn with a generator seeded by `seed`; eval mode, no gradients)."""
    rng = np.random.default_rng([seed, 3])
    picks = rng.integers(len(dataset), size=count)
    _set_size(dataset, size)
    feats = []
    net.eval()
    with torch.no_grad():
        for lo in range(0, count, 16):
            images = torch.stack([_resized(dataset[int(i)], size).image for i in picks[lo:lo + 16]])
            images = edge_band(images, rng, GeneraliseConfig.edge_band_prob)
            feats.append(net.person_head.pool(*net.backbone_outputs(images)))
    return torch.cat(feats)


HEAD_SAMPLES = 3000  # augmented crops per class (people, negatives) for the person head's features


def train_person_head(net: CascadeNet, sources: Sources, per_class: int = HEAD_SAMPLES, steps: int = 1500,
                      seed: int = 0, log=print) -> dict:
    """Train only the person head on the frozen network (everything else unchanged): a cheap way to give
    trained weights a person score. Positives: the labelled real crops, and in equal shares the synthetic
    people and the detector boxes on people (sources.people: people at every distance, as the app cuts
    them) where there are any; negatives: sources.negatives; `per_class` augmented items each at the
    network's input size. Adam on the head's MLP over the standardised pooled features, full batch; the
    standardisation is then folded into its first layer. Returns the final training loss and accuracy."""
    size = net.cfg.input_size
    shards = sources.list_shards()
    synthetic = sources.synthetic(shards) if shards else None
    kinds = [d for d in (sources.real, synthetic, sources.people) if d is not None and len(d)]
    shares = np.diff(np.linspace(0, per_class, len(kinds) + 1).astype(int))
    real = torch.cat([pooled_features(net, d, int(n), size, seed + 10 * k) for k, (d, n) in enumerate(zip(kinds, shares))])
    negative = pooled_features(net, sources.negatives, per_class, size, seed + 2)
    x = torch.cat([real, negative])
    y = torch.cat([torch.ones(len(real)), torch.zeros(len(negative))])
    # Pooled features range over orders of magnitude per channel; fitting on standardised ones and folding
    # the standardisation into the first layer afterwards rejected more held-out non-people at the same
    # people kept (assets/README.md, "The person head, shipped").
    mean, std = x.mean(0), x.std(0) + 1e-6
    x = (x - mean) / std
    torch.manual_seed(seed)
    head = net.person_head.mlp
    head.train()
    opt = torch.optim.Adam(head.parameters(), lr=1e-3, weight_decay=1e-4)
    for step in range(steps):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(x)[:, 0], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % 250 == 0:
            log(json.dumps({"head_step": step + 1, "loss": round(loss.item(), 4)}))
    head.eval()
    with torch.no_grad():
        accuracy = float(((head(x)[:, 0] > 0).float() == y).float().mean())
        first = head[0]
        first.bias -= first.weight @ (mean / std)
        first.weight /= std
    return {"loss": float(loss), "accuracy": accuracy, "positives": len(real), "negatives": len(negative)}


def blazepose_network(lifting_from: str = DEFAULT_INIT) -> CascadeNet:
    """A new ModelConfig.blazepose() network (BlazePose's weights from the mediapipe wheel, new heads, the volume
    head starting from BlazePose's heatmaps) with the lifting block and output scale of checkpoint `lifting_from`
    (same shapes: the light network's, already trained on the labels and mocap; its input is size-free)."""
    from model.net.checkpoint import load_checkpoint
    from model.net.config import ModelConfig

    donor = load_checkpoint(lifting_from)
    cfg = ModelConfig.blazepose().replace(output_geodesic_mm=donor.config.output_geodesic_mm)
    net = CascadeNet(cfg)
    lifting = {k[len("lifting."):]: v.float() for k, v in donor.state_dict.items() if k.startswith("lifting.")}
    net.lifting.load_state_dict(lifting)
    return net


def network_from(init: str, person_head: int = 64, person_taps: bool | None = None) -> CascadeNet:
    """The network of checkpoint `init` (e.g. the committed assets/cascade_blazepose.pt), fp32, with a person
    head: the checkpoint's own, or a fresh one of width `person_head` if it has none or if `person_taps` (not
    None) asks for other inputs than its own (ModelConfig.person_taps). BLAZEPOSE_INIT: blazepose_network()."""
    from model.net.checkpoint import load_checkpoint

    if init == BLAZEPOSE_INIT:
        return blazepose_network()
    ckpt = load_checkpoint(init)
    cfg = ckpt.config.replace(pretrained=False, backbone_weights="")
    state = {k: v.float() for k, v in ckpt.state_dict.items()}
    if person_taps is not None and person_taps != cfg.person_taps:
        cfg = cfg.replace(person_taps=person_taps)
        state = {k: v for k, v in state.items() if not k.startswith("person_head.")}
    if not cfg.person_head:
        cfg = cfg.replace(person_head=person_head)
    net = CascadeNet(cfg)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("person_head.") for k in missing), (missing, unexpected)
    return net


def distill_sources(data_dir: str, input_size: int, negatives_dir: str, synth_dir: str, seed: int) -> Sources:
    """The real sources on disk: the distillation set (with its background pool), mocap, negatives, synthetic shards."""
    from model.data.augment import AugmentConfig
    from model.data.datasets.distill import DistillAugment, DistillCrops, background_pool, load_split
    from model.data.distill import VTEST, pose2sim_dir
    from model.training.distill_train import mocap_poses

    data = load_split(os.path.join(data_dir, "train.npz"))
    videos = [VTEST] if os.path.isfile(VTEST) else []
    videos += [os.path.join(pose2sim_dir(), "Demo_SinglePerson", "videos", f"cam0{i}.mp4") for i in (1, 3)]
    backgrounds = background_pool(videos, 300, data["crops"].shape[1], seed)
    real = DistillCrops(data, input_size, AugmentConfig(), DistillAugment(), backgrounds, seed)
    negatives = people = None
    neg_path = os.path.join(negatives_dir, "train.npz")
    if os.path.isfile(neg_path):
        from model.data.datasets.negatives import mined_datasets

        negatives, people = mined_datasets(neg_path, input_size, synthetic_backgrounds(), seed=seed)
    return Sources(real=real, negatives=negatives, people=people, mocap=mocap_poses(data_dir),
                   list_shards=lambda: synthetic_shards(synth_dir),
                   synthetic=lambda shards: synthetic_dataset(synth_dir, shards, input_size, seed))


def synth_folders(synth: str) -> list[str]:
    """--synth's folders: one, or several separated by commas ('' for none)."""
    return [d for d in synth.split(",") if d]


def synthetic_shards(synth: str) -> list[str]:
    """The complete synthetic training shards of `main.py synth` in --synth's folders, sorted: 'shard_00012' for
    one folder (as runs before several were possible recorded them), 'K:shard_00012' (K the folder's place) for
    several."""
    from model.data.synth.shards import complete_shards

    folders = synth_folders(synth)
    if len(folders) == 1:
        return [f"shard_{k:05d}" for k in sorted(complete_shards(folders[0]))]
    return [f"{i}:shard_{k:05d}" for i, folder in enumerate(folders) for k in sorted(complete_shards(folder))]


class ShardSubset(Dataset):
    """The samples of some shards of a synthetic set (the ones listed when an epoch began), so that shards
    finished during the epoch change nothing until the next one. Forwards input_size and set_epoch."""

    def __init__(self, dataset: Dataset, shard_of: np.ndarray, shards: list[str]) -> None:
        keep = {int(name.split("_")[-1]) for name in shards}
        self.dataset = dataset
        self.indices = np.flatnonzero(np.isin(shard_of, sorted(keep)))

    @property
    def input_size(self) -> int:
        return self.dataset.input_size

    @input_size.setter
    def input_size(self, size: int) -> None:
        self.dataset.input_size = size

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> CropSample:
        return self.dataset[int(self.indices[index])]


class SyntheticSets(ConcatDataset):
    """Several synthetic sets as one (their samples one after another). Forwards input_size and set_epoch."""

    @property
    def input_size(self) -> int:
        return self.datasets[0].input_size

    @input_size.setter
    def input_size(self, size: int) -> None:
        for d in self.datasets:
            d.input_size = size

    def set_epoch(self, epoch: int) -> None:
        for d in self.datasets:
            d.set_epoch(epoch)


def synthetic_dataset(synth: str, shards: list[str], input_size: int, seed: int) -> Dataset | None:
    """The listed shards of --synth's sets (model/data/datasets/synthetic_people.py), or None."""
    if not shards:
        return None
    from model.data.datasets.synthetic_people import SyntheticPeople

    folders = synth_folders(synth)
    by_folder: dict[int, list[str]] = {}
    for name in shards:
        place, _, shard = name.rpartition(":")
        by_folder.setdefault(int(place or 0), []).append(shard)
    parts = []
    for i, names in sorted(by_folder.items()):
        people = SyntheticPeople(folders[i], input_size, seed=seed)
        parts.append(ShardSubset(people, people.shards.shard_of, names))
    return parts[0] if len(parts) == 1 else SyntheticSets(parts)


def synthetic_backgrounds() -> list[np.ndarray]:
    """The synthetic renderer's people-free training backgrounds (model/data/synth/appearance.py), for negatives."""
    try:
        from model.data.synth.appearance import load_backgrounds
    except ImportError:
        return []
    return list(load_backgrounds("train").values())


def run(trainer: Trainer, out_dir: str, minutes: float, save_minutes: float, log=print) -> None:
    """Steps until tcfg.steps or the `minutes` budget (0 = none) or SIGINT/SIGTERM; saves at the end and
    every save_minutes."""
    stop = {"now": False}

    def request_stop(signum, _frame):
        stop["now"] = True

    old = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    start = last_save = time.perf_counter()
    trainer.train_mode()
    try:
        while trainer.pos.step < trainer.tcfg.steps and not stop["now"]:
            if minutes and time.perf_counter() - start > minutes * 60:
                break
            logs = trainer.step()
            if trainer.pos.step % 10 == 0:
                log(json.dumps({"step": trainer.pos.step, "epoch": trainer.pos.epoch,
                                "min": round((time.perf_counter() - start) / 60, 2),
                                "lr": round(lr_factor(trainer.pos.step - 1, trainer.tcfg), 4),
                                **{k: round(v, 4) if isinstance(v, float) else v for k, v in logs.items()}}))
            if time.perf_counter() - last_save > save_minutes * 60:
                trainer.save(out_dir)
                log(f"saved step {trainer.pos.step} to {out_dir}")
                last_save = time.perf_counter()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    trainer.save(out_dir)
    log(f"stopped at step {trainer.pos.step}/{trainer.tcfg.steps} (epoch {trainer.pos.epoch}, "
        f"{len(trainer.pos.shards)} synthetic shards); saved to {out_dir}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Start and recipe options default to None, so that --resume can tell which were given (RECIPE_OPTIONS).
    p.add_argument("--init", default=None, help=f"weights to start from (default: the committed ones, {DEFAULT_INIT}; "
                                                f"'{BLAZEPOSE_INIT}': a new BlazePose network)")
    p.add_argument("--data", default="out/distill", help="folder written by `python main.py distill`")
    p.add_argument("--negatives", default="out/negatives", help="folder written by `python -m bench.mine_negatives`")
    p.add_argument("--synth", default="out/synth/train",
                   help="synthetic training shards (model/data/synth): a folder, or several separated by commas")
    p.add_argument("--out", default="out/train_generalise", help="checkpoint folder")
    p.add_argument("--steps", type=int, default=None,
                   help=f"schedule length (default {GeneraliseConfig.steps}); with --resume, a new length for the rest of "
                        "the run: the learning rate then follows the new cosine from the step reached")
    p.add_argument("--minutes", type=float, default=0.0, help="stop (resumably) after this long; 0 = run all steps")
    p.add_argument("--save-minutes", type=float, default=4.0, help="checkpoint interval")
    p.add_argument("--threads", type=int, default=None, help=f"torch threads (default {GeneraliseConfig.threads})")
    p.add_argument("--batch-size", type=int, default=None,
                   help=f"positive crops per step (default {GeneraliseConfig.batch_size})")
    p.add_argument("--negatives-per-step", type=int, default=None, help=f"default {GeneraliseConfig.negatives}")
    p.add_argument("--loader-threads", type=int, default=None,
                   help=f"threads preparing crops (a GPU run needs many; default {GeneraliseConfig.loader_threads})")
    p.add_argument("--lr", type=float, default=None, help=f"heads and lifting block (default {GeneraliseConfig.lr})")
    p.add_argument("--backbone-lr", type=float, default=None, help=f"default {GeneraliseConfig.backbone_lr}")
    p.add_argument("--head-lr", type=float, default=None, help=f"the person head (default {GeneraliseConfig.head_lr})")
    p.add_argument("--freeze-blocks", type=int, default=None,
                   help=f"EfficientNet blocks (or BlazePose convs) that stay as they start (default "
                        f"{GeneraliseConfig.freeze_blocks})")
    p.add_argument("--train-sizes", type=_sizes, default=None, metavar="S[,S...]",
                   help="input sides drawn per step, equally often (default 128,160,192 at 0.4/0.3/0.3); e.g. 160 to "
                        "fine-tune for the size a card is exported at")
    p.add_argument("--arm-weight", type=float, default=None,
                   help=f"weight of the elbows and wrists in the 2D losses (default {GeneraliseConfig.arm_weight})")
    p.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast, channels_last)")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/last.pt with its recipe (recipe options are refused: they would be ignored)")
    p.add_argument("--ship", metavar="PATH", default="", help="only write OUT/weights.pt as fp16 to PATH and exit")
    p.add_argument("--head-samples", type=int, default=HEAD_SAMPLES,
                   help="--head-only: augmented crops per class (people, no person) the head is fitted on")
    p.add_argument("--head-only", action="store_true",
                   help="train only the person head on --init's frozen network and write OUT/weights.pt")
    p.add_argument("--person-taps", action="store_true",
                   help="--head-only: a new person head that also pools the blazepose backbone's deeper maps "
                        "(ModelConfig.person_taps), in place of --init's own")
    args = p.parse_args(argv)
    if args.person_taps and not args.head_only:
        p.error("--person-taps goes with --head-only (a new run from BlazePose's weights has them already)")
    try:
        if args.ship:
            from model.training.distill_train import ship_fp16

            ship_fp16(os.path.join(args.out, "weights.pt"), args.ship)
            return 0
        return _train(args)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _head_only(args: argparse.Namespace) -> int:
    from model.net.checkpoint import make_payload, read_checkpoint, save_checkpoint

    torch.set_num_threads(args.threads or GeneraliseConfig.threads)
    init = args.init or DEFAULT_INIT
    torch.manual_seed(GeneraliseConfig.seed)  # a new head (--person-taps) starts from seeded weights: reruns agree
    net = network_from(init, person_taps=True if args.person_taps else None)
    sources = distill_sources(args.data, net.cfg.input_size, args.negatives, args.synth, GeneraliseConfig.seed)
    if sources.negatives is None:
        raise DatasetError(f"{args.negatives}/train.npz: no negatives; run `python -m bench.mine_negatives` first")
    result = train_person_head(net, sources, per_class=args.head_samples, log=lambda line: print(line, flush=True))
    print(json.dumps({"person_head": result}), flush=True)
    # Only the head changed: the weights keep their provenance (the recipe and progress that made them).
    before = {} if init == BLAZEPOSE_INIT else read_checkpoint(init)
    extra = {"train_config": before["train_config"]} if "train_config" in before else {}
    progress = {"person_head_only": result, "init": init, "init_progress": before.get("progress")}
    path = os.path.join(args.out, "weights.pt")
    save_checkpoint(path, make_payload(net.eval(), net.cfg, format=RESUME_FORMAT, progress=progress, **extra))
    print(f"wrote {path}", flush=True)
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    """'160' or '128,160' -> input sides; each one a crop size the networks take (input_size_problem)."""
    from model.net.checkpoint import input_size_problem

    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected sides in px separated by commas, e.g. 160 or 128,160") from None
    for size in sizes:
        problem = input_size_problem(size, "every side")
        if problem:
            raise argparse.ArgumentTypeError(f"{text!r}: {problem}")
    return sizes


def _runtime(args: argparse.Namespace) -> dict:
    """The run-time settings given on the command line, as GeneraliseConfig fields (a new run's and a resumed one's).
    --steps with --resume: a longer (or shorter) schedule for a run that turned out to have more time."""
    given = {"steps": args.steps or None, "threads": args.threads, "loader_threads": args.loader_threads}
    return {k: v for k, v in given.items() if v is not None}


def _new_recipe(args: argparse.Namespace) -> GeneraliseConfig:
    """The recipe of a new run: GeneraliseConfig's defaults where an option was not given."""
    given = {"batch_size": args.batch_size, "negatives": args.negatives_per_step, "lr": args.lr,
             "backbone_lr": args.backbone_lr, "head_lr": args.head_lr, "freeze_blocks": args.freeze_blocks,
             "arm_weight": args.arm_weight}
    tcfg = GeneraliseConfig(**{k: v for k, v in given.items() if v is not None}, **_runtime(args))
    if args.train_sizes:
        tcfg = replace(tcfg, train_sizes=args.train_sizes, size_probs=(1 / len(args.train_sizes),) * len(args.train_sizes))
    return tcfg


def _train(args: argparse.Namespace) -> int:
    if args.head_only:
        return _head_only(args)
    last = os.path.join(args.out, "last.pt")
    if args.resume:
        ignored = ["--" + dest.replace("_", "-") for dest in RECIPE_OPTIONS if getattr(args, dest) is not None]
        if ignored:
            raise DatasetError(f"{last}: --resume continues with the run's stored recipe and weights, so "
                               f"{', '.join(ignored)} would be ignored; drop {'it' if len(ignored) == 1 else 'them'}, or "
                               f"start a new run from the weights reached: --init {os.path.join(args.out, 'weights.pt')} "
                               "--out NEW_FOLDER")
        if not os.path.isfile(last):
            raise DatasetError(f"{last}: nothing to resume; start a run without --resume")
        stored = GeneraliseConfig.from_dict(torch.load(last, map_location="cpu", weights_only=False)["train_config"])
        tcfg = replace(stored, **_runtime(args))
    else:
        tcfg = _new_recipe(args)
    torch.set_num_threads(tcfg.threads)
    # A resumed run rebuilds its network from its own weights.pt (same moment as last.pt).
    net = network_from(os.path.join(args.out, "weights.pt") if args.resume else args.init or DEFAULT_INIT)
    sources = distill_sources(args.data, net.cfg.input_size, args.negatives, args.synth, tcfg.seed)
    trainer = Trainer(net, sources, tcfg, device=args.device)
    if args.resume:
        trainer.restore(last)
        print(f"resumed at step {trainer.pos.step} (epoch {trainer.pos.epoch}, offset {trainer.pos.offset})", flush=True)
    print(f"train: {len(sources.real)} real crops, {len(trainer.synthetic) if trainer.synthetic else 0} synthetic "
          f"({len(trainer.pos.shards)} shards), {len(sources.negatives) if sources.negatives else 0} negatives, "
          f"{0 if sources.mocap is None else len(sources.mocap)} mocap poses; {tcfg}", flush=True)
    run(trainer, args.out, args.minutes, args.save_minutes, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
