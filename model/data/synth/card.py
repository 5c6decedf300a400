"""The data card of a synthetic set: what its samples contain, counted and binned from the shards' JSON lines and labels.

Written as data_card.json beside the shards (`python -m model.data.synth.card DIR` rebuilds it alone).
"""

import argparse
import collections
import json
import os
import sys

import numpy as np

from model.atomic import atomic_write_text
from model.net.skeleton import JOINT_NAMES
from model.data.synth.shards import ShardError, ShardSet, read_meta


def histogram(values, bins) -> dict:
    """{'edges': [...], 'counts': [...]} of finite values."""
    v = np.asarray([x for x in values if x is not None], np.float64)
    v = v[np.isfinite(v)]
    counts, edges = np.histogram(v, bins=bins)
    return {"edges": [round(float(e), 3) for e in edges], "counts": counts.tolist()}


def counts(values) -> dict:
    return dict(sorted(collections.Counter(str(v) for v in values).items(), key=lambda kv: -kv[1]))


def build_card(folder: str, config: dict | None = None) -> dict:
    """The card of the complete shards in folder (see the module docstring)."""
    meta = read_meta(folder)
    shards = ShardSet(folder)
    lab = shards.labels
    n = len(meta)
    target = [m["people"][0] for m in meta]
    people = [p for m in meta for p in m["people"]]
    card: dict = {
        "folder": os.path.abspath(folder),
        "samples": n,
        "config": config or {},
        "people_per_image": counts(len(m["people"]) for m in meta),
        "target": {
            "phenotypes": {k: histogram([t["phenotype"][k] for t in target], np.linspace(0, 1, 11))
                           for k in ("gender", "age", "weight", "height", "muscle", "proportions")},
            "age_groups": counts(t["age_group"] for t in target),
            "skin_tone": histogram([t["skin_tone"] for t in target], np.linspace(0, 1, 6)),
            "pose_family": counts(t["pose"]["family"] for t in target),
            "mocap_clip": counts(t["pose"]["source"].split(":")[0] for t in target if t["pose"]["family"] == "mocap"),
            "shirt_texture": counts(bool(t["clothes"]["shirt_texture"]) for t in target),
            "trousers_texture": counts(bool(t["clothes"]["trousers_texture"]) for t in target),
            "sleeves": counts(t["clothes"]["sleeves"] for t in target),
            "legwear": counts(t["clothes"]["legwear"] for t in target),
            "hair": counts(t["clothes"]["hair"] for t in target),
            "height_m": histogram([t["height_m"] for t in target], np.linspace(0.8, 2.6, 19)),
        },
        "all_people_pose_family": counts(p["pose"]["family"] for p in people),
        "camera": {
            "fov_deg": histogram([m["camera"]["fov_deg"] for m in meta], np.arange(40, 95, 5)),
            "height_m": histogram([m["camera"]["height_m"] for m in meta], [0, 0.5, 1, 1.5, 2, 3, 4, 6, 10]),
            "pitch_deg": histogram([m["camera"]["pitch_deg"] for m in meta], np.arange(-60, 91, 15)),
            "roll_deg": histogram([m["camera"]["roll_deg"] for m in meta], np.arange(-40, 41, 10)),
            "distance_m": histogram([m["camera"]["distance_m"] for m in meta], [0, 1, 2, 3, 5, 8, 12, 20, 40]),
            "person_px": histogram([m["camera"]["person_px"] for m in meta], [0, 50, 100, 200, 400, 800, 2000]),
        },
        "background": counts(m["background"] for m in meta),
        "lighting_sun": histogram([m["lighting"]["sun_intensity"] for m in meta], 5),
        "effects": {k: int(sum(k in m["effects"] for m in meta)) for k in ("motion_blur_px", "noise_sigma",
                                                                           "jpeg_quality", "low_res", "frame_edge")},
        "scene_revision": counts(m.get("revision", 1) for m in meta),
        "joints": {
            "inside_fraction": {name: round(float(lab["inside"][:, j].mean()), 4) for j, name in enumerate(JOINT_NAMES)},
            "occluded_by_other_fraction": {name: round(float(lab["occluded"][:, j].mean()), 4)
                                           for j, name in enumerate(JOINT_NAMES)},
            "samples_with_an_occluded_joint": int(lab["occluded"].any(1).sum()),
        },
        "teacher_offsets": _offsets_summary(),
        "heldout_split": _heldout_definition(),
    }
    return card


def _heldout_definition() -> dict:
    """What the 'heldout' split reserves (never drawn for 'train')."""
    from model.data.synth.appearance import HELDOUT_BACKGROUNDS
    from model.data.synth.scene import HELDOUT_CLIPS

    return {"bodies": "weight > 0.75 and muscle > 0.7, or proportions > 0.8 and height < 0.25 (anny phenotypes)",
            "deepmimic_clips": list(HELDOUT_CLIPS), "backgrounds": list(HELDOUT_BACKGROUNDS),
            "footage_poses": "train split only (the distillation set's triangulated poses)",
            "note": "pose families and clothing textures are shared; occluders follow the split's body rule too"}


def _offsets_summary() -> dict:
    """The committed teacher offsets (model/data/synth/teacher_offsets.json): per joint mm and the fit's residuals."""
    from model.data.synth.body import OFFSETS_FILE

    if not os.path.isfile(OFFSETS_FILE):
        return {}
    with open(OFFSETS_FILE, encoding="utf-8") as f:
        data = json.load(f)
    return {"frame": data.get("frame"), "renders": data.get("renders"), "teacher_found": data.get("teacher_found"),
            "joints": data.get("joints")}


def write_card(folder: str, config: dict | None = None) -> dict:
    card = build_card(folder, config)
    atomic_write_text(os.path.join(folder, "data_card.json"), json.dumps(card, indent=1) + "\n")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.synth.card", description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    config_path = os.path.join(args.folder, "synth_config.json")
    config = json.load(open(config_path, encoding="utf-8")) if os.path.isfile(config_path) else None
    try:
        card = write_card(args.folder, config)
    except ShardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.folder}/data_card.json: {card['samples']} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
