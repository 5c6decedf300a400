"""Benchmark (CUDA): what the torch-cuda engine's first call per batch bucket costs, and its steady speed.

The engine captures one CUDA graph per batch bucket (1, 2, 4, 8, ...): those up to --warm-batch when it
is built, the others the first time a batch of that size comes; with cuDNN autotuning on, each new
shape is also benchmarked first. This prints, for the shipped weights, the build time, the first call
per bucket and the median of later calls. Run each setting in its own process (kernel loading is paid
once per process):
    python3 -m bench.gpu_warmup                                     # as the app runs it
    python3 -m bench.gpu_warmup --warm-batch 0 --cudnn-benchmark on  # before: lazy capture, autotuning
    python3 -m bench.gpu_warmup --warm-batch 0 --cudnn-benchmark off
"""

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cudnn-benchmark", choices=("on", "off"), default="off", help="off: as the engine sets it")
    parser.add_argument("--warm-batch", type=int, default=8, help="buckets captured at build time (the engine's default)")
    parser.add_argument("--buckets", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    import torch

    from app.backends.cascade import default_card_path
    from app.engines import TorchEngine
    from export.card import read_card

    card_path = default_card_path()
    started = time.perf_counter()
    engine = TorchEngine.from_card(read_card(card_path), card_path.parent, device="cuda", warm_batch=args.warm_batch)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark == "on"
    load_s = time.perf_counter() - started
    size = engine.input_size
    print(f"cudnn.benchmark {args.cudnn_benchmark}, warm batch {args.warm_batch}: engine {engine.name} built "
          f"(buckets up to {args.warm_batch} captured) in {load_s:.1f} s")
    print(f"{'bucket':>6} {'first call s':>13} {'median ms':>10}")
    total_first = 0.0
    for bucket in args.buckets:
        images = np.random.default_rng(bucket).standard_normal((bucket, 3, size, size)).astype(np.float32)
        t0 = time.perf_counter()
        engine.infer(images)
        first = time.perf_counter() - t0
        total_first += first
        times = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            engine.infer(images)
            times.append(1000 * (time.perf_counter() - t0))
        print(f"{bucket:>6} {first:13.2f} {statistics.median(times):10.2f}")
    print(f"first calls together: {total_first:.1f} s")


if __name__ == "__main__":
    main()
