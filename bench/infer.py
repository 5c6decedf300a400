"""Benchmark: crops per second and latency per batch size for every inference engine available here.

Run from the repository root:
    .venv/bin/python -m bench.infer                       # light config, batches 1 4 16 64
    .venv/bin/python -m bench.infer --config paper --batches 1 4
    .venv/bin/python -m bench.infer --checkpoint assets/some.pt

Without --checkpoint a random-weight checkpoint of the config is written to a temporary folder
(speed does not depend on the weights) and exported with `main.py export` (ONNX + card, with its
parity check). Then, in this one process, for each batch size every engine that can run here gets
the same crops: PyTorch eager fp32 (the baseline, on each device), ONNX Runtime (CPU, CUDA),
PyTorch CUDA fp16 + CUDA graphs, TensorRT. Each cell is the median wall time of engine.infer()
(host numpy in, host numpy out, so copies to and from the GPU are included) over repeated calls
after warm-up calls, the engines' calls interleaved round by round; the ratio column is the engine's crops/s over the eager fp32 baseline's on the
same device, measured in the same run. Cutting the crops from a frame (model.net.crop) is timed apart.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

BATCHES = (1, 4, 16, 64)


def crops(batch: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, 3, size, size)).astype(np.float32)


def print_table(rows: list[dict], title: str) -> None:
    """rows: {'engine', 'device', 'batch', 'median_ms', 'min_ms', 'crops_per_s', 'ratio'}."""
    print(f"\n{title}")
    print(f"{'engine':<28} {'batch':>5} {'latency ms (median)':>20} {'min ms':>9} {'crops/s':>9} {'x eager fp32':>13}")
    for r in rows:
        print(f"{r['engine']:<28} {r['batch']:>5} {r['median_ms']:>20.2f} {r['min_ms']:>9.2f} "
              f"{r['crops_per_s']:>9.1f} {r['ratio']:>13.2f}")


def benchmark(engines: dict, input_size: int, batches, warmup: int, budget_s: float) -> list[dict]:
    """Time every engine at every batch size; engines: name -> (engine, device). First per device = baseline.

    Calls are interleaved (one call of each engine per round) so that load from other processes on
    a shared machine hits all engines alike and the ratios stay fair.
    """
    rows = []
    for batch in batches:
        images = crops(batch, input_size, seed=batch)
        for engine, _ in engines.values():
            for _ in range(warmup):
                engine.infer(images)
        times: dict[str, list[float]] = {name: [] for name in engines}
        started = time.perf_counter()
        while min(len(t) for t in times.values()) < 3 or (time.perf_counter() - started < budget_s * len(engines)
                                                          and min(len(t) for t in times.values()) < 200):
            for name, (engine, _) in engines.items():
                t0 = time.perf_counter()
                engine.infer(images)
                times[name].append(time.perf_counter() - t0)
        baseline: dict[str, float] = {}
        for name, (_, device) in engines.items():
            median = statistics.median(times[name])
            rate = batch / median
            baseline.setdefault(device, rate)
            rows.append({
                "engine": name, "device": device, "batch": batch, "median_ms": 1000 * median,
                "min_ms": 1000 * min(times[name]), "crops_per_s": rate, "ratio": rate / baseline[device],
                "repeats": len(times[name]),
            })
            print(f"  {name:<28} batch {batch:>3}: {1000 * median:8.2f} ms median ({len(times[name])} calls)", flush=True)
    return rows


def available_engines(card_path: Path, card, gpu: bool, threads: int = 0) -> dict:
    """name -> (engine, device) for every engine that starts here, eager fp32 first on each device."""
    from app.engines import OnnxRuntimeEngine, TensorRTEngine, TorchEngine

    candidates = [("torch eager fp32 (cpu)", "cpu", lambda: TorchEngine.from_card(card, card_path.parent, device="cpu")),
                  ("onnxruntime-cpu", "cpu", lambda: OnnxRuntimeEngine(card, card_path.parent, device="cpu", threads=threads))]
    if gpu:
        candidates += [
            ("torch eager fp32 (cuda)", "cuda",
             lambda: TorchEngine.from_card(card, card_path.parent, device="cuda", fp16=False, cuda_graphs=False)),
            ("torch-cuda-fp16-graphs", "cuda", lambda: TorchEngine.from_card(card, card_path.parent, device="cuda")),
            ("onnxruntime-cuda", "cuda", lambda: OnnxRuntimeEngine(card, card_path.parent, device="cuda")),
            ("tensorrt", "cuda", lambda: TensorRTEngine(card, card_path.parent)),
        ]
    engines = {}
    for name, device, build in candidates:
        try:
            engines[name] = (build(), device)
        except Exception as e:  # report and go on: the point is to time what runs here
            print(f"  {name}: not available ({str(e).splitlines()[0] if str(e) else e.__class__.__name__})")
    return engines


def crop_cutting_rate(card, people: int = 4, repeats: int = 20) -> float:
    """Crops per second of model.net.crop.cut_crops on a 1920x1080 frame (one warpAffine per person)."""
    from model.net.crop import CropSpec, cut_crops

    frame = np.random.default_rng(0).integers(0, 256, size=(1080, 1920, 3), dtype=np.uint8)
    boxes = np.array([[200.0 + 400 * i, 200.0, 500.0 + 400 * i, 1000.0] for i in range(people)])
    spec = CropSpec.from_card(card)
    cut_crops(frame, boxes, spec)
    started = time.perf_counter()
    for _ in range(repeats):
        cut_crops(frame, boxes, spec)
    return people * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="light", choices=("light", "paper", "tiny"))
    parser.add_argument("--checkpoint", help="benchmark this checkpoint instead of random weights")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of timed calls per cell (at least 3 calls)")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads for PyTorch and ONNX Runtime (0 = their defaults); on a loaded shared "
                             "machine 1 is far steadier: PyTorch's per-op thread barriers stall when a core is taken")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    import main as entry
    from export.card import read_card
    from model.net.checkpoint import make_random_checkpoint
    from model.net.config import ModelConfig

    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoint:
            checkpoint = Path(args.checkpoint)
            label = checkpoint.name
        else:
            checkpoint = make_random_checkpoint(Path(tmp) / f"{args.config}.pt", getattr(ModelConfig, args.config)())
            label = f"{args.config} config, random weights"
        out = Path(tmp) / "export"
        if entry.main(["export", str(checkpoint), "--out", str(out)]) != 0:
            raise SystemExit("bench: export failed")
        card_path = out / f"{checkpoint.stem}.card.json"
        card = read_card(card_path)
        gpu = torch.cuda.is_available()
        device_name = torch.cuda.get_device_name(0) if gpu else "CPU only"
        print(f"\n{label}: input {card.input_size}px, torch {torch.__version__} ({torch.get_num_threads()} threads), "
              f"{device_name}")
        engines = available_engines(card_path, card, gpu, args.threads)
        rows = benchmark(engines, card.input_size, args.batches, args.warmup, args.budget)
        print_table(rows, f"{label} — engine.infer() per batch (host in/out); ratio = crops/s over eager fp32 on the same device")
        print(f"\ncrop cutting (model.net.crop, 1920x1080 frame, 4 people): {crop_cutting_rate(card):.0f} crops/s")


if __name__ == "__main__":
    main()
