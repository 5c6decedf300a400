"""`main.py eval` on a checkpoint from a tiny training run: synthetic, Human3.6M and MuPoTS-3D fixtures."""

import json
import os

import cv2
import numpy as np
import pytest
import torch

import main
from model.net.skeleton import NUM_JOINTS
from model.data.datasets.common import H36M_ACTION_COLUMNS, project

W, H = 160, 120


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("run")
    settings = ["model=tiny", "datasets_3d=synthetic", "datasets_2d=synthetic", "synthetic_size=8", "batch_size=4",
                "epochs=1", "stage2_epochs=1", "max_steps_per_epoch=1", "num_workers=0", "cpu_threads=1"]
    assert main.main(["train", "--out-dir", str(out), "--device", "cpu"] + [a for s in settings for a in ("--set", s)]) == 0
    yield out / "final.pt"
    torch.set_num_threads(threads)


def _write(path, data=None, image=False) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if image:
        noise = np.random.default_rng(len(path)).integers(0, 255, (H, W, 3), dtype=np.uint8)
        assert cv2.imwrite(path, noise)
    else:
        with open(path, "w") as f:
            json.dump(data, f)


def _person(seed: int, depth: float = 4000.0) -> np.ndarray:
    pose = np.random.default_rng(seed).normal(0.0, 200.0, (NUM_JOINTS, 3))
    return pose - pose[0] + np.array([0.0, 0.0, depth])


def test_synthetic_eval_prints_its_table(checkpoint, capsys):
    assert main.main(["eval", str(checkpoint), "synthetic", "--limit", "4", "--workers", "0", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["Methods", "MPJPE", "PA-MPJPE", "3DPCK(%)"]
    name, mpjpe, pa, pck = lines[1].split()
    assert name == "Ours" and 0 < float(pa) <= float(mpjpe) < 5000 and 0 <= float(pck) <= 100


def test_human36m_protocol2_prints_table2(checkpoint, tmp_path, capsys):
    root = tmp_path / "Human36M"
    images, anns, joints = [], [], {}
    identity = {"1": {"R": np.eye(3).tolist(), "t": [0.0, 0.0, 0.0], "f": [300.0, 300.0], "c": [80.0, 60.0]}}
    for action in (2, 4, 16):
        joints[str(action)] = {"1": {}}
        folder = f"s_11_act_{action:02d}_subact_01_ca_01"
        for frame in (0, 64):
            world = _person(action * 100 + frame)
            joints[str(action)]["1"][str(frame)] = world.tolist()
            name = f"{folder}/{folder}_{frame + 1:06d}.jpg"
            _write(str(root / "images" / name), image=True)
            uv = project(world, np.array([300.0, 300.0]), np.array([80.0, 60.0]))
            images.append({"id": len(images), "file_name": name, "width": W, "height": H, "subject": 11,
                           "action_idx": action, "subaction_idx": 1, "cam_idx": 1, "frame_idx": frame})
            anns.append({"id": len(anns), "image_id": len(anns),
                         "bbox": [*uv.min(0).tolist(), *(uv.max(0) - uv.min(0)).tolist()]})
    _write(str(root / "annotations" / "Human36M_subject11_data.json"), {"images": images, "annotations": anns})
    _write(str(root / "annotations" / "Human36M_subject11_camera.json"), identity)
    _write(str(root / "annotations" / "Human36M_subject11_joint_3d.json"), joints)

    args = ["eval", str(checkpoint), "human36m", "--root", str(root), "--protocol", "2", "--workers", "0",
            "--device", "cpu"]
    assert main.main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["Methods", *H36M_ACTION_COLUMNS, "Avg"]
    row = lines[1].split()
    assert row[0] == "Ours" and len(row) == 17
    filled = [i for i, v in enumerate(row[1:-1]) if v != "-"]
    assert filled == [0, 2, 14]  # Directions, Eating, WalkTogether have samples
    assert lines[2] == "Table 2: PA-MPJPE (mm) on Human3.6M under Protocol #2."
    count, mpjpe, pa = lines[3].split()[0], float(lines[3].split()[3]), float(lines[3].split()[6])
    assert count == "6" and float(row[-1]) == pytest.approx(pa, abs=0.051) and pa <= mpjpe


def test_mupots_prints_table3(checkpoint, tmp_path, capsys):
    root = tmp_path / "MuPoTS"
    images, anns = [], []
    for seq in (1, 2):
        name = f"TS{seq}/img_000000.jpg"
        _write(str(root / "data" / "MultiPersonTestSet" / name), image=True)
        images.append({"id": seq, "file_name": name, "width": W, "height": H, "intrinsic": [300.0, 300.0, 80.0, 60.0]})
        cam = _person(seq)[[10, 8, 14, 15, 16, 11, 12, 13, 1, 2, 3, 4, 5, 6, 0, 7, 9]]  # ours -> MPI order
        uv = project(cam, np.array([300.0, 300.0]), np.array([80.0, 60.0]))
        anns.append({"id": seq, "image_id": seq, "bbox": [*uv.min(0).tolist(), *(uv.max(0) - uv.min(0)).tolist()],
                     "keypoints_img": uv.tolist(), "keypoints_cam": cam.tolist(), "is_valid": 1})
    _write(str(root / "data" / "MuPoTS-3D.json"), {"images": images, "annotations": anns})
    assert main.main(["eval", str(checkpoint), "mupots", "--root", str(root), "--workers", "0", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["Methods", "3DPCK(%)"]
    assert lines[1].split()[0] == "Ours" and 0.0 <= float(lines[1].split()[1]) <= 100.0
    assert lines[4].split() == ["TS1", "TS2", "Avg"]
    assert lines[5].split()[0] == "3DPCK" and lines[6].split()[0] == "AUC"


def test_missing_dataset_or_checkpoint_is_one_line(checkpoint, tmp_path, capsys):
    assert main.main(["eval", str(checkpoint), "human36m", "--root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'nowhere'}: Human3.6M folder not found (see model/README.md for the expected layout)"
    assert main.main(["eval", str(tmp_path / "none.pt"), "synthetic"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'none.pt'}: checkpoint not found"
