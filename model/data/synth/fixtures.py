"""Writes the committed test renders: poses far from the average with exact labels (tests/fixtures/synth/).

    python -m model.data.synth.fixtures [--out tests/fixtures/synth]

Six single people (arms up, arms out, crouching, kneeling, kicking, lying) from the held-out split
(body shapes and backgrounds never used for training), no occluders, mild camera effects. Each crop
is what a top-down pipeline cuts around the person's box: padding 1.25, no extra margin, 256 px
(resize to the network's input side and scale the 2D labels by the same factor). labels.json holds,
per crop: joints_2d (17, 2) crop px, joints_3d (17, 3) root-relative mm (camera axes), root_mm, K
(the crop's intrinsics, joints_2d = project(joints_3d + root_mm)), inside and occluded (17,), the
person's tight box in crop px, and how it was made. Tests read them without anny installed.
"""

import argparse
import json
import os
import sys

import cv2
import numpy as np

from model.atomic import atomic_write_bytes, atomic_write_text

FIXTURE_FAMILIES = ("arms_up", "arms_out", "crouch", "kneel", "kick", "lying")
DEFAULT_OUT = os.path.join("tests", "fixtures", "synth")


def _clear(family: str, uv: np.ndarray) -> bool:
    """Whether a render shows its family unmistakably in 2D (image y down; cameras are roughly upright)."""
    if family == "arms_up":
        return bool(uv[13, 1] < uv[10, 1] and uv[16, 1] < uv[10, 1])  # both wrists above the head top
    if family == "kick":
        return bool(min(uv[3, 1], uv[6, 1]) < uv[0, 1])  # an ankle above the pelvis
    if family == "arms_out":
        return bool(abs(uv[13, 0] - uv[16, 0]) > 2.5 * abs(uv[11, 0] - uv[14, 0]))  # wrists far apart
    return True


def make_fixtures(out: str, seed: int = 2024) -> list[dict]:
    from model.data.synth.appearance import Effects
    from model.data.synth.scene import SceneConfig, SceneMaker

    cfg = SceneConfig(margin=1.0, others_probs=(1.0,), distance_m=(2.5, 6.0), frame_edge_prob=0.0,
                      effects=Effects(motion_blur_prob=0.0, noise_prob=0.0, jpeg_prob=0.0))
    maker = SceneMaker("heldout", seed, cfg, mocap_cache=os.path.join("out", "synth", "mocap_clips.npz"))
    rows = []
    try:
        for k, family in enumerate(FIXTURE_FAMILIES):
            # Try a few indices: keep one with the whole person inside the crop that shows the pose clearly.
            for attempt in range(30):
                sample = maker.make(1000 * k + attempt, family=family)
                if (sample.labels["inside"].all() and not sample.labels["occluded"].any()
                        and _clear(family, sample.labels["joints_2d"])):
                    break
            image = cv2.imdecode(np.frombuffer(sample.image_jpeg, np.uint8), cv2.IMREAD_COLOR)
            mask = cv2.imdecode(np.frombuffer(sample.mask_png, np.uint8), cv2.IMREAD_GRAYSCALE)
            ys, xs = np.nonzero(mask)
            name = f"{family}.jpg"
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            atomic_write_bytes(os.path.join(out, name), jpeg.tobytes())
            lab = sample.labels
            person = sample.meta["people"][0]
            rows.append({
                "file": name, "family": family,
                "joints_2d": np.round(lab["joints_2d"].astype(float), 3).tolist(),
                "joints_3d": np.round(lab["joints_3d"].astype(float), 2).tolist(),
                "root_mm": np.round(lab["root_mm"].astype(float), 2).tolist(),
                "K": np.round(lab["K"].astype(float), 4).tolist(),
                "inside": lab["inside"].astype(bool).tolist(), "occluded": lab["occluded"].astype(bool).tolist(),
                "box_xyxy": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())],
                "phenotype": person["phenotype"], "camera": sample.meta["camera"],
            })
    finally:
        maker.close()
    doc = {"about": __doc__.strip().splitlines()[0], "crop_padding": 1.25, "size": 256, "crops": rows}
    atomic_write_text(os.path.join(out, "labels.json"), json.dumps(doc, indent=1) + "\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.synth.fixtures", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    rows = make_fixtures(args.out, args.seed)
    print(f"{args.out}: {len(rows)} crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
