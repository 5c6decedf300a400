"""CPU forward time per crop (batch 1 and 8), parameters and GFLOPs of the paper and light networks.

Usage: .venv/bin/python -m bench.model_forward [--threads N] [--repeats R]
The light/paper ratios are measured in the same run, so they hold on a loaded machine too.
"""

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from model.net.config import ModelConfig
from model.net.network import CascadeNet, count_parameters


def time_forward(net: CascadeNet, batch: int, repeats: int) -> float:
    """Fastest seconds per crop of net.infer on a random batch over `repeats` runs after two warm-ups
    (the minimum: on a shared machine other jobs only ever add time)."""
    x = torch.randn(batch, 3, net.cfg.input_size, net.cfg.input_size)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            t0 = time.perf_counter()
            net.infer(x)
            if i >= 2:
                times.append(time.perf_counter() - t0)
    return min(times) / batch


def gflops(net: CascadeNet) -> float:
    """Forward GFLOP per crop (multiply-add = 2 FLOP), as torch's flop counter sees it."""
    x = torch.randn(1, 3, net.cfg.input_size, net.cfg.input_size)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        net.infer(x)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (the fastest is reported)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, fp32, eval mode")
    results = {}
    for name, cfg in (("paper", ModelConfig.paper()), ("light", ModelConfig.light().replace(pretrained=False))):
        torch.manual_seed(0)
        net = CascadeNet(cfg).eval()
        b1 = time_forward(net, 1, args.repeats)
        b8 = time_forward(net, 8, max(2, args.repeats // 2))
        results[name] = (b1, b8)
        print(
            f"{name:5s}: {cfg.backbone:18s} {cfg.input_size}px, {cfg.heatmap_size}x{cfg.heatmap_size}x{cfg.depth_bins} volume, "
            f"{count_parameters(net) / 1e6:6.2f} M params (backbone {count_parameters(net.backbone) / 1e6:.2f} M, "
            f"lifting {count_parameters(net.lifting) / 1e6:.2f} M), {gflops(net):6.2f} GFLOP/crop, "
            f"batch 1: {b1 * 1e3:8.1f} ms/crop, batch 8: {b8 * 1e3:8.1f} ms/crop"
        )
    (p1, p8), (l1, l8) = results["paper"], results["light"]
    print(f"light is {p1 / l1:.1f}x faster than paper per crop at batch 1, {p8 / l8:.1f}x at batch 8")


if __name__ == "__main__":
    main()
