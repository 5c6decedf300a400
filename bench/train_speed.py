"""Benchmark: stage-1 training steps per second of model/training/train.py's Trainer, mixed precision vs fp32.

The step is Trainer.step itself (targets, forward, every loss, backward, Adam), on one fixed batch
already on the device: data loading is left out, so this is the network's ceiling, and what a full
run's data pipeline must keep up with. Each config runs its variants round by round in the same
process; the ratio is samples/s over fp32 at the same batch size. On CUDA the variants are fp32
(PyTorch's default TF32 convolutions) and AMP (bf16 where supported, as training uses); on a CPU
only fp32 runs.
Run: .venv/bin/python -m bench.train_speed [--configs paper light] [--batch 64] [--device cuda] [--steps 20]
"""

import argparse
import statistics
import time
from dataclasses import replace

import torch

from model.net.config import ModelConfig
from model.training.train import Trainer, training_data
from model.training.train_config import TrainConfig


def fixed_batch(cfg: TrainConfig):
    """One real stage-1 batch (half 3D, half 2D) of synthetic stick figures at the config's crop size."""
    dataset, sampler = training_data(cfg, stage=1)
    indices = next(iter(sampler))
    from torch.utils.data import default_collate

    return default_collate([dataset[i] for i in indices])


def time_steps(trainer: Trainer, batch, optimizer, scaler, steps: int) -> list[float]:
    """Wall milliseconds per step (each step reads its losses back, so it is synchronous)."""
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step(1, 0.0, batch, optimizer, scaler)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["paper", "light"], choices=("paper", "light", "tiny"))
    parser.add_argument("--batch", type=int, default=64, help="the paper's batch size is 64")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant per round (3 rounds)")
    args = parser.parse_args()
    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"train_speed on {where}, torch {torch.__version__}, batch {args.batch}, data loading excluded")
    print(f"{'config':<7} {'variant':<10} {'median ms/step':>15} {'samples/s':>10} {'x fp32':>7} {'peak GiB':>9}")
    for name in args.configs:
        model = replace(getattr(ModelConfig, name)(), pretrained=False)
        variants = {"fp32": False} | ({"amp": True} if device.type == "cuda" else {})
        trainers = {}
        for label, amp in variants.items():
            cfg = TrainConfig(datasets_3d=("synthetic",), datasets_2d=("synthetic",), synthetic_size=4 * args.batch,
                              model=model, batch_size=args.batch, amp=amp, num_workers=0, cpu_threads=0,
                              device=args.device)
            trainer = Trainer(cfg, device)
            optimizer = torch.optim.Adam(trainer.net.parameters(), lr=1e-4)
            scaler = torch.amp.GradScaler("cuda", enabled=trainer.use_scaler)
            trainer.net.train()
            trainers[label] = (trainer, optimizer, scaler, fixed_batch(cfg))
        times: dict[str, list[float]] = {label: [] for label in trainers}
        peaks: dict[str, float] = {label: float("nan") for label in trainers}
        for round_ in range(3):
            for label, (trainer, optimizer, scaler, batch) in trainers.items():
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                measured = time_steps(trainer, batch, optimizer, scaler, args.steps + (3 if round_ == 0 else 0))
                times[label] += measured[3:] if round_ == 0 else measured
                if device.type == "cuda":
                    peaks[label] = torch.cuda.max_memory_allocated(device) / 2**30
        base = None
        for label in trainers:
            median = statistics.median(times[label])
            rate = 1000 * args.batch / median
            base = base or rate
            print(f"{name:<7} {label:<10} {median:15.1f} {rate:10.1f} {rate / base:7.2f} {peaks[label]:9.1f}")
        del trainers
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
