"""One-shot GPU check: build what can be built on a CUDA machine and time the PyTorch-CUDA engine.

Run from the repository root on the GPU machine (prints a short table; about 3-5 minutes):
    python -m bench.gpu_check                              # paper and light configs, batches 1 4 16 64
    python -m bench.gpu_check --configs paper --batches 1 16 --out $OUT

Meant for the project's H100 machine: CUDA PyTorch, ONNX and ONNX Runtime (CPU provider) but no
TensorRT, no onnxruntime-gpu and no efficientnet_lite_pytorch (the light config's backbone). For the
light config, carry that 23 kB pure-Python wheel along; without it the light config is skipped with
a message. Here: `.venv/bin/pip download --no-deps efficientnet-lite-pytorch==0.1.0 -d .whl`
(.whl/ is git-ignored), then on the device tool, with carry [".whl"] and timeout_s 480:
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
    PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 -m bench.gpu_check --out $OUT

With --shipped, first the shipped default weights (assets/cascade_blazepose.*) through the app's
CascadeBackend on torch-cuda vs torch-cpu, on SSDLite detections in frames of the bundled clip.

Per config, with random weights (speed does not depend on them):
1. Build: a random checkpoint, then `main.py export` (ONNX fp32 + card, parity through ONNX Runtime
   on the CPU); with TensorRT importable also the fp16 ONNX and a TensorRT engine (--tensorrt --fp16).
2. Parity on the GPU: each GPU engine against the CPU fp32 reference on the export's fixed crops,
   against the fp32 / fp16 tolerances of export/parity.py.
3. Speed on the same card, in one process, variants interleaved round by round:
   - device-resident (input already on the GPU, CUDA events): eager fp32 (the baseline; PyTorch's
     default TF32 setting for cuDNN convolutions is printed), eager fp16 autocast, fp16 + CUDA
     graph (what the app's torch-cuda engine replays);
   - engine.infer() from host numpy to host numpy (copies included): eager fp32 vs the app's
     torch-cuda-fp16-graphs engine, plus ONNX Runtime CUDA / TensorRT where installed.
   Ratios are crops/s over eager fp32 at the same batch size.
A JSON file with every number goes to --out (default $OUT when set).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BATCHES = (1, 4, 16, 64)


def log(message: str) -> None:
    print(message, flush=True)


def device_timings(variants: dict, budget_s: float) -> dict[str, list[float]]:
    """name -> milliseconds per call; variants: name -> zero-argument callable running on the GPU."""
    import torch

    for fn in variants.values():  # warm-up (cuDNN autotuning, graph capture)
        for _ in range(3):
            fn()
    torch.cuda.synchronize()
    times: dict[str, list[float]] = {name: [] for name in variants}
    started = time.perf_counter()
    while min(len(t) for t in times.values()) < 5 or (
        time.perf_counter() - started < budget_s * len(variants) and min(len(t) for t in times.values()) < 200
    ):
        for name, fn in variants.items():
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            times[name].append(begin.elapsed_time(end))
    return times


def rows_from(times: dict[str, list[float]], batch: int, kind: str) -> list[dict]:
    base = None
    rows = []
    for name, ms in times.items():
        median = statistics.median(ms)
        rate = 1000.0 * batch / median
        base = base or rate
        rows.append({"kind": kind, "variant": name, "batch": batch, "median_ms": median, "min_ms": min(ms),
                     "crops_per_s": rate, "ratio": rate / base, "calls": len(ms)})
    return rows


def check_config(name: str, batches, budget_s: float, work: Path) -> dict:
    import torch

    import main as entry
    from model.net.crop import CropSpec
    from app.engines import OnnxRuntimeEngine, TensorRTEngine, TorchEngine
    from export.card import read_card
    from model.net.checkpoint import load_checkpoint, make_random_checkpoint
    from export.parity import compare, fixed_inputs
    from export.tensorrt_build import tensorrt_status
    from model.net.config import ModelConfig

    result: dict = {"config": name, "rows": [], "parity": [], "notes": []}
    cfg = getattr(ModelConfig, name)()
    started = time.perf_counter()
    try:
        checkpoint = make_random_checkpoint(work / f"{name}.pt", cfg)
    except ImportError as e:
        result["notes"].append(f"{name}: skipped, cannot build the network here ({e})")
        log(result["notes"][-1])
        return result
    trt, reason = tensorrt_status()
    args = ["export", str(checkpoint), "--out", str(work / "export")]
    if trt is not None:
        args += ["--tensorrt", "--fp16", "--max-batch", str(max(batches))]
    else:
        log(f"tensorrt: {reason}")
    code = entry.main(args)
    result["export_exit_code"] = code
    result["export_s"] = time.perf_counter() - started
    log(f"{name}: export exit code {code} in {result['export_s']:.0f} s")
    card_path = work / "export" / f"{name}.card.json"
    card = read_card(card_path)

    # Parity on the GPU against the CPU fp32 reference.
    inputs = fixed_inputs(CropSpec.from_card(card))
    net_cpu = load_checkpoint(checkpoint).build_network("cpu")
    with torch.inference_mode():
        uvz, joints = net_cpu.infer(torch.from_numpy(inputs))
    reference = {"uvz": uvz.numpy(), "joints_3d": joints.numpy()}
    del net_cpu
    engines = {
        "torch eager fp32": (TorchEngine.from_card(card, card_path.parent, "cuda", fp16=False, cuda_graphs=False), "fp32"),
        "torch-cuda-fp16-graphs": (TorchEngine.from_card(card, card_path.parent, "cuda"), "fp16"),
    }
    for label, build, precision in (
        ("onnxruntime-cuda", lambda: OnnxRuntimeEngine(card, card_path.parent, device="cuda"), "fp32"),
        ("tensorrt", lambda: TensorRTEngine(card, card_path.parent), "fp16"),
    ):
        try:
            engines[label] = (build(), precision)
        except Exception as e:
            result["notes"].append(f"{label}: not available ({str(e).splitlines()[0]})")
            log(result["notes"][-1])
    for label, (engine, precision) in engines.items():
        parity = compare(label, precision, reference, engine.infer(inputs))
        result["parity"].append(parity.to_dict() | {"ok": parity.ok})
        log(parity.line())

    # Device-resident timings.
    eager = engines["torch eager fp32"][0]
    graphs = engines["torch-cuda-fp16-graphs"][0]
    net = eager.net
    for batch in batches:
        x = torch.randn(batch, 3, cfg.input_size, cfg.input_size, device="cuda")
        # The app pads a batch up to its power-of-two bucket; 1, 4, 16 and 64 are buckets themselves.
        graph, static_in, _ = graphs._graph(graphs._bucket(batch))
        static_in[:batch].copy_(x)

        def eager_fp32():
            with torch.inference_mode():
                net.infer(x)

        def eager_fp16():
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16):
                net.infer(x)

        torch.cuda.reset_peak_memory_stats()
        times = device_timings(
            {"eager fp32": eager_fp32, "eager fp16 autocast": eager_fp16, "fp16 + CUDA graph": graph.replay}, budget_s,
        )
        rows = rows_from(times, batch, "device-resident")
        result["rows"] += rows
        result.setdefault("peak_memory_gib", {})[batch] = torch.cuda.max_memory_allocated() / 2**30
        for r in rows:
            log(f"  {name} batch {batch:>3} {r['variant']:<22} {r['median_ms']:8.2f} ms  x{r['ratio']:.2f}")

        # Host in / host out through the engine interface (what the app pays per frame).
        host = np.random.default_rng(batch).standard_normal((batch, 3, cfg.input_size, cfg.input_size)).astype(np.float32)
        calls = {label: (lambda e=engine: e.infer(host)) for label, (engine, _) in engines.items()}
        rows = rows_from(host_timings(calls, budget_s), batch, "engine.infer host in/out")
        result["rows"] += rows
    for engine, _ in engines.values():
        engine.close()
    return result


def host_timings(calls: dict, budget_s: float) -> dict[str, list[float]]:
    """name -> wall milliseconds per call (each call returns host arrays, so it is synchronous)."""
    for fn in calls.values():
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    started = time.perf_counter()
    while min(len(t) for t in times.values()) < 5 or (
        time.perf_counter() - started < budget_s * len(calls) and min(len(t) for t in times.values()) < 200
    ):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(1000 * (time.perf_counter() - t0))
    return times


def check_shipped(frames: tuple[int, ...] = (0, 25, 50, 75, 95), device: str = "cuda") -> dict:
    """The shipped weights on real crops: the app's CascadeBackend on torch-cuda (fp16 + graphs) vs torch-cpu fp32.

    People come from the SSDLite detector on frames of the bundled clip; the same detections go to
    both backends; differences are in image pixels (2D) and root-relative millimetres (3D).
    """
    from app.backends.cascade import CascadeBackend, default_card_path
    from app.detection import make_detector
    from app.sources import DEFAULT_SAMPLE, open_source

    card = default_card_path()
    detector = make_detector("ssdlite")
    gpu = CascadeBackend(card, engine=f"torch-{device}", device=device)  # device="cpu" only to test this code
    cpu = CascadeBackend(card, engine="torch-cpu", device="cpu")
    px, mm, people = [], [], 0
    for frame in open_source(DEFAULT_SAMPLE):
        if frame.index > max(frames):
            break
        if frame.index not in frames:
            continue
        detections = detector.detect(frame)
        for a, b in zip(gpu.estimate(frame, detections), cpu.estimate(frame, detections)):
            if a is None or b is None:
                continue
            people += 1
            px.append(float(np.abs(a[0][:, :2] - b[0][:, :2]).max()))
            mm.append(float(np.linalg.norm(a[1] - b[1], axis=-1).max()))
    result = {"card": card.name, "engines": [gpu.engine_name, cpu.engine_name], "frames": list(frames),
              "people": people, "max_px": max(px, default=float("nan")), "max_mm": max(mm, default=float("nan"))}
    log(f"shipped weights {card.name}: {gpu.engine_name} vs {cpu.engine_name} on {people} people of frames "
        f"{list(frames)}: max 2D {result['max_px']:.3f} px, max 3D {result['max_mm']:.2f} mm")
    gpu.close()
    cpu.close()
    return result


def print_tables(results: list[dict], gpu: str) -> None:
    for result in results:
        if not result["rows"]:
            continue
        for kind in ("device-resident", "engine.infer host in/out"):
            log(f"\n{result['config']} config on {gpu} — {kind}; ratio = crops/s over eager fp32, same batch")
            log(f"{'variant':<24} {'batch':>5} {'median ms':>10} {'min ms':>9} {'crops/s':>9} {'x fp32':>7}")
            for r in result["rows"]:
                if r["kind"] == kind:
                    log(f"{r['variant']:<24} {r['batch']:>5} {r['median_ms']:>10.2f} {r['min_ms']:>9.2f} "
                        f"{r['crops_per_s']:>9.0f} {r['ratio']:>7.2f}")
        for note in result["notes"]:
            log(f"note: {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["paper", "light"], choices=("paper", "light", "tiny"))
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--budget", type=float, default=1.5, help="seconds of timed calls per variant and batch")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for gpu_check.json")
    parser.add_argument("--shipped", action="store_true",
                        help="also compare the shipped weights on torch-cuda and torch-cpu on crops of the bundled clip")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        log(f"gpu_check: no CUDA GPU visible to PyTorch {torch.__version__}; nothing to measure (CPU numbers: bench/infer.py)")
        return 1
    gpu = f"{torch.cuda.get_device_name(0)} (sm{''.join(map(str, torch.cuda.get_device_capability(0)))})"
    log(f"gpu_check: {gpu}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"cuDNN TF32 {torch.backends.cudnn.allow_tf32}, matmul TF32 {torch.backends.cuda.matmul.allow_tf32}")
    shipped = None
    if args.shipped:
        try:
            shipped = check_shipped()
        except Exception as e:
            log(f"gpu_check: shipped weights failed: {e.__class__.__name__}: {e}")
            shipped = {"failed": str(e)}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            try:
                results.append(check_config(name, args.batches, args.budget, Path(tmp)))
            except Exception as e:  # keep the other config's numbers
                log(f"gpu_check: {name} failed: {e.__class__.__name__}: {e}")
                results.append({"config": name, "rows": [], "parity": [], "notes": [f"failed: {e}"]})
    print_tables(results, gpu)
    if args.out:
        path = Path(args.out) / "gpu_check.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {"gpu": gpu, "torch": torch.__version__, "results": results, "shipped": shipped}
        path.write_text(json.dumps(report, indent=1))
        log(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
