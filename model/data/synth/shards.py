"""Shards of synthetic samples on disk: written atomically, found again on a rerun, read back lazily.

One shard k of a set folder holds up to `shard_size` samples in three files:

  shard_00012.bin    the crops (JPEG) and person masks (PNG) of its samples, back to back
  shard_00012.jsonl  one JSON line per sample: how it was made (body, pose, camera, scene; data card input)
  shard_00012.npz    the labels (SHARD_ARRAYS) and each sample's byte ranges in the .bin

Each file is written atomically (model/atomic.py) and the .npz last, so a shard whose .npz exists is
complete: a killed run loses at most the shard it was writing, and a rerun continues from there.
Sample i of the set lives in shard i // shard_size, and its random numbers depend only on (seed, split, i),
so a rerun writes the same samples.
"""

import json
import os
import re
from dataclasses import dataclass

import numpy as np

from model.atomic import atomic_open, atomic_path, atomic_write_text
from model.errors import file_error
from model.net.skeleton import NUM_JOINTS

SHARD_PATTERN = re.compile(r"^shard_(\d{5})\.npz$")
# Label arrays of a shard (n samples). Camera axes: x right, y down, z forward.
SHARD_ARRAYS = {
    "joints_2d": (NUM_JOINTS, 2),   # float32 crop px of the stored crop
    "joints_3d": (NUM_JOINTS, 3),   # float32 mm, root-relative (pelvis), camera axes
    "root_mm": (3,),                # float32 mm, the pelvis in camera coordinates (absolute)
    "K": (3, 3),                    # float32 the stored crop's intrinsics: joints_2d = project(joints_3d + root_mm, K)
    "frames": (NUM_JOINTS, 3, 3),   # float32 camera-axes rotation of each joint's segment frame (teacher offsets)
    "inside": (NUM_JOINTS,),        # bool: the joint projects inside the stored crop and the full frame
    "occluded": (NUM_JOINTS,),      # bool: another person is in front of the joint
    "image_range": (2,),            # int64 byte range [start, end) of the JPEG crop in the .bin
    "mask_range": (2,),             # int64 byte range [start, end) of the PNG person mask in the .bin
    "index": (),                    # int64 sample number in the set
}


class ShardError(Exception):
    """A unusable synthetic set or shard; one line naming the file and the problem."""


@dataclass(frozen=True)
class ShardSample:
    """One sample to store: JPEG and PNG bytes, labels as in SHARD_ARRAYS (one row), its metadata."""

    image_jpeg: bytes
    mask_png: bytes
    labels: dict
    meta: dict


def shard_stem(folder: str, k: int) -> str:
    return os.path.join(folder, f"shard_{k:05d}")


def shard_count(count: int, shard_size: int) -> int:
    return (count + shard_size - 1) // shard_size


def expected_size(k: int, count: int, shard_size: int) -> int:
    return max(0, min(shard_size, count - k * shard_size))


def complete_shards(folder: str) -> dict[int, int]:
    """{shard number: number of samples} of every complete shard (its .npz exists) in folder."""
    out = {}
    if not os.path.isdir(folder):
        return out
    for name in os.listdir(folder):
        m = SHARD_PATTERN.match(name)
        if m:
            with np.load(os.path.join(folder, name)) as data:
                out[int(m.group(1))] = int(len(data["index"]))
    return out


def write_shard(folder: str, k: int, samples: list[ShardSample]) -> str:
    """Write shard k atomically (.bin, .jsonl, then .npz); returns the .npz path."""
    stem = shard_stem(folder, k)
    ranges_image, ranges_mask = [], []
    with atomic_open(stem + ".bin", text=False) as f:
        pos = 0
        for s in samples:
            f.write(s.image_jpeg)
            ranges_image.append((pos, pos + len(s.image_jpeg)))
            pos += len(s.image_jpeg)
            f.write(s.mask_png)
            ranges_mask.append((pos, pos + len(s.mask_png)))
            pos += len(s.mask_png)
    atomic_write_text(stem + ".jsonl", "".join(json.dumps(s.meta, sort_keys=True) + "\n" for s in samples))
    arrays = {}
    for key, shape in SHARD_ARRAYS.items():
        if key == "image_range":
            arrays[key] = np.asarray(ranges_image, np.int64).reshape(-1, 2)
        elif key == "mask_range":
            arrays[key] = np.asarray(ranges_mask, np.int64).reshape(-1, 2)
        else:
            arrays[key] = np.stack([np.asarray(s.labels[key]) for s in samples]).reshape(len(samples), *shape)
    with atomic_path(stem + ".npz") as tmp:
        # np.savez appends .npz to a name without it: write through an open file instead.
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    return stem + ".npz"


def baked_offsets(folder: str) -> np.ndarray:
    """(17, 3) mm teacher offsets the set's labels were made with (synth_config.json; zeros if it has none)."""
    path = os.path.join(folder, "synth_config.json")
    if not os.path.isfile(path):
        return np.zeros((NUM_JOINTS, 3))
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    return np.asarray(config.get("offsets_mm", np.zeros((NUM_JOINTS, 3))), np.float64).reshape(NUM_JOINTS, 3)


def read_meta(folder: str) -> list[dict]:
    """Every complete shard's JSON lines, in sample order."""
    out = []
    for k in sorted(complete_shards(folder)):
        path = shard_stem(folder, k) + ".jsonl"
        with open(path, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


class ShardSet:
    """The labels of every complete shard of a set folder in memory; crops and masks read from disk on demand.

    labels[key]: concatenated SHARD_ARRAYS over shards (N, ...). Works in DataLoader workers: each
    process opens its own file handles.
    """

    def __init__(self, folder: str) -> None:
        shards = complete_shards(folder)
        if not shards:
            raise ShardError(file_error(folder, "no complete synthetic shards (shard_*.npz); "
                                                "run `python main.py synth --out FOLDER --count N`"))
        self.folder = folder
        parts, self.shard_of = [], []
        for k in sorted(shards):
            path = shard_stem(folder, k) + ".npz"
            try:
                with np.load(path) as data:
                    part = {key: data[key] for key in SHARD_ARRAYS}
            except (OSError, ValueError, KeyError) as exc:
                raise ShardError(file_error(path, f"unreadable shard ({exc}); delete it and rerun synth")) from None
            parts.append(part)
            self.shard_of.extend([k] * len(part["index"]))
        self.labels = {key: np.concatenate([p[key] for p in parts]) for key in SHARD_ARRAYS}
        self.shard_of = np.asarray(self.shard_of, np.int64)
        self._files: dict[tuple[int, int], object] = {}

    def __len__(self) -> int:
        return len(self.shard_of)

    def _read(self, i: int, key: str) -> bytes:
        k = int(self.shard_of[i])
        handle = self._files.get((os.getpid(), k))
        if handle is None:
            handle = open(shard_stem(self.folder, k) + ".bin", "rb")
            self._files[(os.getpid(), k)] = handle
        start, end = (int(v) for v in self.labels[key][i])
        handle.seek(start)
        return handle.read(end - start)

    def image(self, i: int) -> np.ndarray:
        """HxWx3 uint8 BGR crop of sample i."""
        import cv2

        out = cv2.imdecode(np.frombuffer(self._read(i, "image_range"), np.uint8), cv2.IMREAD_COLOR)
        if out is None:
            raise ShardError(file_error(shard_stem(self.folder, int(self.shard_of[i])) + ".bin",
                                        f"sample {i}: undecodable crop"))
        return out

    def mask(self, i: int) -> np.ndarray:
        """HxW uint8 mask of sample i: 255 where the target person is visible, 0 elsewhere."""
        import cv2

        return cv2.imdecode(np.frombuffer(self._read(i, "mask_range"), np.uint8), cv2.IMREAD_GRAYSCALE)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def __getstate__(self) -> dict:
        # File handles do not cross process boundaries (DataLoader workers reopen them).
        state = dict(self.__dict__)
        state["_files"] = {}
        return state
