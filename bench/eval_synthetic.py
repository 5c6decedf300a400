"""Both pose backends on the synthetic held-out set: bodies, motions and backgrounds never used in training.

    python -m bench.eval_synthetic [--set out/synth/heldout] [--card CARD |
                                    --checkpoint out/train_generalise/weights.pt] [--limit 300] [--json FILE]

The set is written by `python main.py synth` (model/data/synth; its held-out split). Each sample is a stored
render with exact labels (model/data/datasets/synthetic_people.py applies the current joint-definition
offsets). Both backends get the same frame (the stored render) and the same box (the exact 2D joints'
box grown by 10%, as bench/eval_default_weights.py does on the real held-out camera), through their app
code paths. Metrics per person (bench.eval_default_weights.person_metrics), averaged over the people both
backends return a pose for: 2D PCK@0.1 (of the box's larger side) and mean px error against the exact 2D
joints, MPJPE as output, MPJPE after the best scale, PA-MPJPE, root-relative mm in camera axes. "found"
counts the people each backend returned a pose for (the network's person score may reject some).
"""

import argparse
import json
import sys

import numpy as np


def samples(folder: str, limit: int) -> list[tuple[np.ndarray, dict]]:
    """(frame BGR, record) of evenly spaced samples of the set; record as bench.eval_default_weights expects."""
    from model.data.augment import AugmentConfig
    from model.data.datasets.synthetic_people import SyntheticPeople
    from model.net.skeleton import NUM_JOINTS

    people = SyntheticPeople(folder, 192, augment=AugmentConfig(enabled=False))
    labels = people.shards.labels
    n = len(people)
    pick = np.unique(np.linspace(0, n - 1, min(limit, n)).astype(int)) if limit else np.arange(n)
    out = []
    for i in pick:
        joints_2d = labels["joints_2d"][i].astype(np.float64)
        inside = labels["inside"][i].astype(bool)
        record = {"joints_2d": np.where(inside[:, None], joints_2d, np.nan),
                  "teacher_2d": np.full((NUM_JOINTS, 3), np.nan),
                  "joints_3d": labels["joints_3d"][i].astype(np.float64), "index": int(i)}
        if inside.sum() >= NUM_JOINTS // 2:
            out.append((people.shards.image(int(i)), record))
    return out


def evaluate(backend, items: list[tuple[np.ndarray, dict]]) -> list[dict | None]:
    from app.types import Detection, Frame
    from bench.eval_default_weights import _box, person_metrics

    rows = []
    for k, (image, rec) in enumerate(items):
        ok = np.isfinite(rec["joints_2d"]).all(-1)
        box = _box(rec["joints_2d"][ok])
        res = backend.estimate(Frame(k, k / 30.0, image), [Detection(box, 1.0)])[0]
        rows.append(None if res is None else person_metrics(res[0], res[1], rec))
    return rows


def main(argv: list[str] | None = None) -> int:
    from app.backends.cascade import default_card_path

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", default="out/synth/heldout", help="held-out synthetic set folder (`main.py synth`)")
    p.add_argument("--card", default=str(default_card_path()), help="model card (default: the shipped one)")
    p.add_argument("--checkpoint", default="", help="evaluate a raw checkpoint instead of the card")
    p.add_argument("--limit", type=int, default=300, help="evenly spaced samples (0 = all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default="")
    args = p.parse_args(argv)

    import torch

    from app.backends.mediapipe import MediaPipeBackend
    from bench.eval_default_weights import CheckpointBackend, summarise
    from model.data.synth.shards import ShardError

    torch.set_num_threads(args.threads)
    try:
        items = samples(args.set, args.limit)
    except ShardError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.checkpoint:
        net_backend = CheckpointBackend(args.checkpoint)
    else:
        from app.backends.cascade import CascadeBackend

        net_backend = CascadeBackend(args.card, engine="onnxruntime", device="cpu", threads=args.threads)
    mp_backend = MediaPipeBackend()
    rows = {"network": evaluate(net_backend, items), "mediapipe": evaluate(mp_backend, items)}
    net_backend.close()
    mp_backend.close()
    both = [i for i in range(len(items)) if all(rows[n][i] is not None for n in rows)]
    results = {"set": args.set, "samples": len(items), "network_backend": net_backend.name}
    for name, r in rows.items():
        results[name] = summarise([r[i] for i in both]) | {"found": sum(x is not None for x in r), "people": len(r)}
    print(json.dumps(results, indent=1))
    print(format_table(results))
    if args.json:
        from model.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1))
    return 0


def format_table(results: dict) -> str:
    lines = ["| backend | people found | PCK@0.1 | px | MPJPE mm | scale-aligned MPJPE mm | PA-MPJPE mm |",
             "|" + " --- |" * 7]
    for key, label in (("network", "cascade (this)"), ("mediapipe", "MediaPipe")):
        r = results[key]
        lines.append(f"| {label} | {r['found']}/{r['people']} | {r.get('pck_reference', float('nan')):.3f} | "
                     f"{r.get('px_reference', float('nan')):.1f} | {r.get('mpjpe', float('nan')):.0f} | "
                     f"{r.get('mpjpe_scaled', float('nan')):.0f} | {r.get('pa_mpjpe', float('nan')):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
