"""Dataset readers (Human3.6M, MPII, COCO, MuCo-3DHP, MuPoTS-3D) into one record format, and loaders.

Every reader returns a list of PoseRecord (model/data/datasets/common.py) in our 17-joint order; the
expected folder layouts are in each reader's docstring and in model/README.md.
"""

import os
from typing import Callable

from model.data.datasets.coco import load_coco
from model.data.datasets.common import DatasetError, PoseRecord
from model.data.datasets.human36m import load_human36m
from model.data.datasets.mpii import load_mpii
from model.data.datasets.muco import load_muco
from model.data.datasets.mupots import load_mupots

# name -> (folder under the data root as in the public 3DMPPE layout, has 3D labels, reader)
DATASETS: dict[str, tuple[str, bool, Callable[..., list[PoseRecord]]]] = {
    "human36m": ("Human36M", True, load_human36m),
    "mpii": ("MPII", False, load_mpii),
    "coco": ("MSCOCO", False, load_coco),
    "muco": ("MuCo", True, load_muco),
    "mupots": ("MuPoTS", True, load_mupots),
}


def dataset_root(name: str, data_root: str) -> str:
    """The folder of a dataset under a data root, e.g. data/Human36M."""
    return os.path.join(data_root, DATASETS[name][0])


def load_records(name: str, root: str, split: str, protocol: int = 1) -> list[PoseRecord]:
    """The records of one dataset split; root is the dataset's own folder (e.g. data/Human36M)."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    reader = DATASETS[name][2]
    if name == "human36m":
        return reader(root, split, protocol)
    return reader(root, split)


__all__ = ["DATASETS", "DatasetError", "PoseRecord", "dataset_root", "load_records"]
