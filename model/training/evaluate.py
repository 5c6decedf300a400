"""`python main.py eval CHECKPOINT DATASET`: run a checkpoint on a test set and print the paper's tables.

human36m: Protocol 1 prints Table 1 (MPJPE per action), Protocol 2 prints Table 2 (PA-MPJPE per
action); both also report the other metric. mupots: Table 3 (3DPCK at 150 mm over all annotated
people) with the per-sequence 3DPCK and AUC. synthetic: MPJPE and PA-MPJPE on held-out stick
figures, so the path can be checked without the real datasets.

Predictions are the lifting block's root-relative 3D joints, compared with the ground truth in mm as
they come out (the paper uses no ground-truth information at inference; the geodesic normalisation
of Eq. 10 makes them 1077 mm neck-to-knee, close to the Human3.6M test subjects).
"""

import argparse
import sys

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from model.net.skeleton import ROOT
from model.training import metrics
from model.data.augment import AugmentConfig
from model.data.datasets import DatasetError, dataset_root, load_records
from model.data.datasets.human36m import PROTOCOL_METRIC
from model.data.datasets.loader import CropDataset
from model.data.datasets.synthetic_crops import EVAL_SEED, SyntheticCrops
from model.net.checkpoint import CheckpointError, network_from_state, read_checkpoint
from model.net.config import ModelConfig
from model.commands import UsageError
from model.errors import one_line
from model.training.train import pick_device
from model.training.train_config import ConfigError

EVAL_DATASETS = ("human36m", "mupots", "synthetic")
NO_AUGMENT = AugmentConfig(enabled=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a training checkpoint (.pt)")
    parser.add_argument("dataset", choices=EVAL_DATASETS, help="test set")
    parser.add_argument("--root", help="the dataset folder (default: data/Human36M or data/MuPoTS)")
    parser.add_argument("--protocol", type=int, choices=(1, 2), default=1, help="Human3.6M protocol (default 1)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="data-loading processes")
    parser.add_argument("--limit", type=int, default=0, help="evaluate only the first N samples (0 = all; "
                                                            "synthetic: the number of figures, default 256)")
    parser.add_argument("--name", default="Ours", help="the method name in the printed tables")


def predict(net: torch.nn.Module, dataset: Dataset, device: torch.device, batch_size: int, workers: int) -> np.ndarray:
    """(N, 17, 3) root-relative mm predictions for every sample, in dataset order."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)
    outputs = []
    net.eval()
    with torch.no_grad():
        for batch in tqdm(loader, desc="eval", unit="batch", file=sys.stderr, dynamic_ncols=True):
            _, joints_3d = net.infer(batch.image.to(device))
            outputs.append(joints_3d.float().cpu().numpy())
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, 17, 3))


def test_set(args: argparse.Namespace, data: dict) -> tuple[Dataset, np.ndarray, list]:
    """The dataset, its (N, 17, 3) root-relative ground truth and the per-sample records (or None)."""
    pre = data.get("preprocessing") or {}
    size = int(data["model_config"]["input_size"])
    mean = tuple(pre.get("pixel_mean", (0.485, 0.456, 0.406)))
    std = tuple(pre.get("pixel_std", (0.229, 0.224, 0.225)))
    if args.dataset == "synthetic":
        count = args.limit if args.limit > 0 else 256
        dataset = SyntheticCrops(count, size, NO_AUGMENT, seed=EVAL_SEED, mean=mean, std=std)
        gt = np.stack([dataset[i].joints_3d.numpy() for i in range(count)]).astype(np.float64)
        return dataset, gt, [None] * count
    root = args.root or dataset_root(args.dataset, "data")
    records = load_records(args.dataset, root, "test", args.protocol)
    if args.limit > 0:
        records = records[: args.limit]
    if not records:
        raise DatasetError(f"{root}: no test samples found")
    dataset = CropDataset(records, (size, size), NO_AUGMENT, padding=float(pre.get("crop_padding", 1.25)),
                          mean=mean, std=std)
    gt = np.stack([r.joints_3d - r.joints_3d[ROOT] for r in records])
    return dataset, gt, records


def report(args: argparse.Namespace, pred: np.ndarray, gt: np.ndarray, records: list) -> str:
    """The paper's table for the dataset, as text."""
    mpjpe = metrics.mpjpe_per_joint(pred, gt)
    pa = metrics.pa_mpjpe_per_joint(pred, gt)
    summary = f"{len(gt)} samples: MPJPE {mpjpe.mean():.1f} mm, PA-MPJPE {pa.mean():.1f} mm"
    if args.dataset == "human36m":
        actions = np.array([r.action for r in records])
        chosen = mpjpe if args.protocol == 1 else pa
        number = 1 if args.protocol == 1 else 2
        caption = (f"Table {number}: {PROTOCOL_METRIC[args.protocol]} (mm) on Human3.6M under Protocol #{args.protocol}.")
        return metrics.format_action_table([(args.name, metrics.action_means(chosen, actions))], caption) + "\n" + summary
    if args.dataset == "mupots":
        errors = metrics.mupots_errors(pred, gt)
        table = metrics.sequence_pck(errors, [r.sequence for r in records])
        return metrics.format_mupots_table(args.name, table) + "\n" + summary
    width = max(len("Methods"), len(args.name))
    lines = [f"{'Methods':<{width}}  MPJPE  PA-MPJPE  3DPCK(%)",
             f"{args.name:<{width}}  {mpjpe.mean():5.1f}  {pa.mean():8.1f}  {metrics.pck(mpjpe):8.1f}",
             f"Held-out synthetic stick figures ({len(gt)}), root-relative mm."]
    return "\n".join(lines)


def check_options(args: argparse.Namespace) -> None:
    """The numeric options, before the checkpoint or any data is read; raises UsageError (one line)."""
    if args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be 1 or more")
    if args.workers < 0:
        raise UsageError(f"--workers {args.workers}: must be 0 or more")
    if args.limit < 0:  # -3 evaluated 256 samples
        raise UsageError(f"--limit {args.limit}: must be 0 (all) or more")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    try:
        device = pick_device(args.device)
        data = read_checkpoint(args.checkpoint)
        dataset, gt, records = test_set(args, data)
        net = network_from_state(data["model"], ModelConfig.from_dict(data["model_config"]), args.checkpoint).to(device)
        pred = predict(net, dataset, device, args.batch_size, args.workers)
    except (ConfigError, DatasetError, CheckpointError) as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        return 2
    print(report(args, pred, gt, records))
    return 0


