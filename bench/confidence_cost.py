"""What the network's own confidence costs on a CPU: per-crop time of the ONNX graph with and without it.

    python -m bench.confidence_cost [--baseline assets/previous/cascade_light.onnx] [--threads 1] [--rounds 40]

Baseline: an ONNX file exported before the confidence outputs existed (by default the shipped one, if
its card lists no person_score; pass the ONNX of the weights committed before issue 11 otherwise, e.g.
`git show 4567b45:assets/cascade_light.onnx > /tmp/old.onnx`). Candidate: the same light network with
the joint confidence and a person head (ModelConfig.person_head = 64), exported to a temporary folder
by the same exporter (weights do not change the cost). Both run in ONNX Runtime on the CPU with the same
threads, interleaved call by call (the machine is shared: load hits both alike), at batch 1 and 3; the
median per crop and the candidate/baseline ratio are printed.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def session(path: str, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", default="assets/previous/cascade_light.onnx")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--person-head", type=int, default=64)
    args = p.parse_args(argv)

    import torch

    from export.onnx_export import export_onnx
    from model.net.config import ModelConfig
    from model.net.network import CascadeNet

    torch.manual_seed(0)
    net = CascadeNet(ModelConfig.light().replace(pretrained=False, person_head=args.person_head)).eval()
    with tempfile.TemporaryDirectory() as tmp:
        candidate = str(export_onnx(net, Path(tmp) / "with_confidence.onnx"))
        runs = {"baseline": session(args.baseline, args.threads), "with confidence": session(candidate, args.threads)}
        print(f"baseline {args.baseline}: outputs {[o.name for o in runs['baseline'].get_outputs()]}")
        print(f"candidate: outputs {[o.name for o in runs['with confidence'].get_outputs()]}")
        size = net.cfg.input_size
        for batch in (1, 3):
            images = np.random.default_rng(batch).standard_normal((batch, 3, size, size)).astype(np.float32)
            times = {name: [] for name in runs}
            for name, s in runs.items():  # warm-up
                s.run(None, {"images": images})
            for _ in range(args.rounds):
                for name, s in runs.items():
                    t0 = time.perf_counter()
                    s.run(None, {"images": images})
                    times[name].append((time.perf_counter() - t0) * 1000 / batch)
            med = {name: statistics.median(t) for name, t in times.items()}
            print(f"batch {batch}: baseline {med['baseline']:.1f} ms/crop, with confidence "
                  f"{med['with confidence']:.1f} ms/crop, ratio {med['with confidence'] / med['baseline']:.3f} "
                  f"({args.rounds} interleaved rounds, {args.threads} thread(s))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
