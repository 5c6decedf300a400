"""A contact sheet of a synthetic set: crops with their 2D skeletons drawn, for checking labels by eye.

    python -m model.data.synth.sheet out/synth/train --count 24 --out sheet.png

Joints: filled dots where visible, hollow where hidden by another person; left side blue, right red.
"""

import argparse
import sys

import cv2
import numpy as np

from model.atomic import atomic_write_bytes
from model.net.skeleton import BONES, BONE_SIDES
from model.data.synth.shards import ShardError, ShardSet

COLOURS = {"l": (255, 128, 0), "r": (0, 0, 255), "c": (0, 220, 0)}  # BGR


def draw(image: np.ndarray, joints_2d: np.ndarray, inside: np.ndarray, occluded: np.ndarray) -> np.ndarray:
    out = image.copy()
    for (a, b), side in zip(BONES, BONE_SIDES):
        if inside[a] and inside[b]:
            cv2.line(out, tuple(int(round(v)) for v in joints_2d[a]), tuple(int(round(v)) for v in joints_2d[b]),
                     COLOURS[side], 2, cv2.LINE_AA)
    for j, p in enumerate(joints_2d):
        if inside[j]:
            cv2.circle(out, (int(round(p[0])), int(round(p[1]))), 3, (255, 255, 255), 1 if occluded[j] else -1)
    return out


def sheet(shards: ShardSet, indices, columns: int = 6) -> np.ndarray:
    tiles = []
    for i in indices:
        lab = shards.labels
        tile = draw(shards.image(i), lab["joints_2d"][i], lab["inside"][i], lab["occluded"][i])
        cv2.putText(tile, str(int(lab["index"][i])), (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    return np.vstack([np.hstack(tiles[r:r + columns]) for r in range(0, len(tiles), columns)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.data.synth.sheet", description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    try:
        shards = ShardSet(args.folder)
    except ShardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    picked = range(args.start, min(len(shards), args.start + args.count))
    ok, png = cv2.imencode(".png", sheet(shards, picked))
    atomic_write_bytes(args.out, png.tobytes())
    print(f"{args.out}: {len(picked)} crops")
    return 0


if __name__ == "__main__":
    sys.exit(main())
