"""Benchmark: ONNX Runtime CPU time per crop of light-network variants (random weights), as ratios to the light config.

Why: the light network's heads, not its backbone, dominate a crop's cost; this measures what each way of
shrinking them buys before any training is spent on it. Each variant is exported to ONNX (the app's
export path) and timed at batch 1 and 2 in one process, interleaved over --rounds; medians are printed.
Also timed: dynamic int8 quantisation of the light export (onnxruntime.quantization).

Run: .venv/bin/python -m bench.head_cost [--threads 2] [--rounds 3]
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort
import torch

from export.onnx_export import export_onnx
from model.net.config import ModelConfig
from model.net.network import CascadeNet


def variants() -> dict[str, ModelConfig]:
    light = ModelConfig.light()
    return {
        "light (shipped until 2026-12-01)": light,
        "stride 8 (24x24 heads, model/training/compress.py)": light.replace(deconv_channels=light.deconv_channels[:2]),
        "heads 32 wide": light.replace(head_channels=32),
        "16 depth bins": light.replace(depth_bins=16),
        "stride 8, 160 px": light.replace(deconv_channels=light.deconv_channels[:2], input_size=160),
    }


def session(path: str, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = threads
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ms_per_call(sess: ort.InferenceSession, size: int, batch: int, calls: int = 15) -> float:
    x = np.random.default_rng(0).random((batch, 3, size, size), dtype=np.float32)
    for _ in range(3):
        sess.run(None, {"images": x})
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        sess.run(None, {"images": x})
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        built = {}
        for name, cfg in variants().items():
            path = os.path.join(tmp, f"{len(built)}.onnx")
            export_onnx(CascadeNet(cfg).eval(), path)
            built[name] = (session(path, args.threads), cfg.input_size, cfg.heatmap_size)
        from onnxruntime.quantization import QuantType, quantize_dynamic

        first = os.path.join(tmp, "0.onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(first, os.path.join(tmp, "int8.onnx"), weight_type=QuantType.QUInt8)
        built["light, dynamic int8"] = (session(os.path.join(tmp, "int8.onnx"), args.threads), 192, 48)
        times = {name: {1: [], 2: []} for name in built}
        for _ in range(args.rounds):
            for name, (sess, size, _) in built.items():
                for batch in (1, 2):
                    times[name][batch].append(ms_per_call(sess, size, batch))
    base = {b: statistics.median(times[next(iter(built))][b]) for b in (1, 2)}
    print(f"ONNX Runtime {ort.__version__}, {args.threads} threads, load {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<44} {'heatmap':>7} {'ms b1':>7} {'ms b2':>7} {'x light b1':>10} {'b2':>6}")
    for name, (_, _, heat) in built.items():
        b1, b2 = (statistics.median(times[name][b]) for b in (1, 2))
        print(f"{name:<44} {heat:>7} {b1:7.1f} {b2:7.1f} {base[1] / b1:10.2f} {base[2] / b2:6.2f}")


if __name__ == "__main__":
    main()
