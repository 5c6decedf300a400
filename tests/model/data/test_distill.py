"""Tests of the distillation set's pieces: held-out split, crop reader and augmentation, mocap lifting
batches, and the checkpoint format the default weights are saved in."""

import cv2
import numpy as np
import pytest
import torch

from model.net.skeleton import NUM_JOINTS
from model.data.augment import AugmentConfig
from model.net.config import ModelConfig
from model.data.datasets.distill import DistillAugment, DistillCrops
from model.data.distill import HOLDOUT_CLIP, HOLDOUT_FROM_FRAME, HOLDOUT_VIEW, bones_plausible, split_of
from model.training.distill_train import DistillTrainConfig, checkpoint_payload, mocap_batch

STAND = np.array([[0, 0, 0], [-100, 0, 0], [-100, 450, 0], [-100, 850, 0], [100, 0, 0], [100, 450, 0],
                  [100, 850, 0], [0, -250, 0], [0, -500, 0], [0, -600, -80], [0, -750, 0], [180, -480, 0],
                  [200, -220, 0], [210, 20, 0], [-180, -480, 0], [-200, -220, 0], [-210, 20, 0]], float)


def test_split_holds_out_a_view_and_the_last_frames():
    rec = lambda source, view, frame: {"source": source, "view": view, "frame": frame}
    assert split_of(rec(HOLDOUT_CLIP, HOLDOUT_VIEW, 0)) == "excluded"
    assert split_of(rec(HOLDOUT_CLIP, "cam01", HOLDOUT_FROM_FRAME)) == "excluded"
    assert split_of(rec(HOLDOUT_CLIP, "cam01", HOLDOUT_FROM_FRAME - 3)) == "excluded"  # the gap
    assert split_of(rec(HOLDOUT_CLIP, "cam01", 10)) == "train"
    assert split_of(rec("Demo_SinglePerson", HOLDOUT_VIEW, 99)) == "train"


def test_bones_plausible():
    assert bones_plausible(STAND)
    broken = STAND.copy()
    broken[13] += 900.0  # a wrist 90 cm from its elbow: a wrong cross-view match
    assert not bones_plausible(broken)


def _dot_set(n: int = 4, size: int = 256) -> dict:
    """Crops with a bright dot at every joint, black elsewhere; the mask covers the dots."""
    rng = np.random.default_rng(0)
    crops = np.zeros((n, size, size, 3), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    joints = np.zeros((n, NUM_JOINTS, 2))
    pose = STAND.copy()
    pose[16] = [-210, -700, 0]  # right hand raised: a flip is visible after the left/right swap
    for i in range(n):
        pts = pose[:, :2] * 0.12 + size / 2 + rng.normal(0, 3, (NUM_JOINTS, 2))
        joints[i] = pts
        for x, y in pts:
            cv2.circle(crops[i], (int(round(x)), int(round(y))), 3, (255, 255, 255), -1)
            cv2.circle(masks[i], (int(round(x)), int(round(y))), 12, 255, -1)
    return {"crops": crops, "masks": masks, "affines": np.tile(np.eye(2, 3), (n, 1, 1)), "joints_2d": joints,
            "valid_2d": np.ones((n, NUM_JOINTS), bool), "joints_3d": np.tile(pose, (n, 1, 1)),
            "has_3d": np.ones(n, bool), "weight_3d": np.array([1.0, 0.3, 1.0, 0.3])[:n]}


def test_crops_labels_move_with_the_image():
    data = _dot_set()
    aug = AugmentConfig(occlusion_prob=0.0, rotation_prob=1.0, flip_prob=0.5, color_jitter=0.0)
    extra = DistillAugment(background_prob=0.0, zoom_out_prob=0.5, blur_prob=0.0)
    ds = DistillCrops(data, 128, aug, extra, None, seed=1)
    flips = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            s = ds[i]
            assert s.image.shape == (3, 128, 128) and s.joints_2d.shape == (NUM_JOINTS, 2)
            assert float(s.has_3d) == pytest.approx(data["weight_3d"][i])
            img = s.image.numpy().mean(0)  # bright where a dot is, in every channel
            for (x, y), ok in zip(s.joints_2d.numpy(), s.valid_2d.numpy()):
                if ok:
                    xi, yi = int(round(x)), int(round(y))
                    assert img[max(yi - 1, 0):yi + 2, max(xi - 1, 0):xi + 2].max() > 1.0, (i, x, y)
            # 3D moved like the 2D: a flip mirrors x and swaps sides, so r_hip stays image-left of l_hip
            # exactly when its 3D x is smaller.
            j2, j3 = s.joints_2d.numpy(), s.joints_3d.numpy()
            assert np.sign(j2[1, 0] - j2[4, 0]) == np.sign(j3[1, 0] - j3[4, 0])
            flips += int(j3[16, 1] > -300)  # after a flip the raised hand is the left one
    assert 0 < flips < 12


def test_background_replacement_keeps_the_person():
    data = _dot_set(2)
    aug = AugmentConfig(enabled=True, rotation_prob=0.0, flip_prob=0.0, scale_jitter=0.0, color_jitter=0.0,
                        occlusion_prob=0.0)
    extra = DistillAugment(background_prob=1.0, zoom_out_prob=0.0, blur_prob=0.0)
    backgrounds = np.full((3, 256, 256, 3), 90, np.uint8)
    ds = DistillCrops(data, 128, aug, extra, backgrounds, seed=0)
    assert ds.mask_ok.all()
    s = ds[0]
    img = s.image.numpy()
    # Far from every joint the black crop was replaced by a background; the dots are still there.
    corner = img[:, :5, :5]
    black = (0 - np.array([0.485, 0.456, 0.406]) / 1) / np.array([0.229, 0.224, 0.225])
    assert not np.allclose(corner.mean((1, 2)), black, atol=0.05)
    x, y = (int(round(v)) for v in s.joints_2d[0].numpy())
    assert img.mean(0)[y, x] > 1.0


def test_mocap_batch_is_a_consistent_lifting_sample():
    cfg = ModelConfig.light()
    poses = np.tile(STAND, (5, 1, 1))
    tcfg = DistillTrainConfig(uv_noise=0.0, z_noise=0.0)
    inp, target = mocap_batch(poses, 64, cfg, tcfg, np.random.default_rng(0))
    assert inp.shape == (64, NUM_JOINTS, 3) and target.shape == (64, NUM_JOINTS, 3)
    # Inside [-1, 1] but for joints the jittered box leaves outside the crop (a tight crop of 0.94 x 1.25).
    assert inp.abs().max() <= 1.5 and (inp.abs() <= 1.0).float().mean() > 0.95
    assert torch.allclose(target[:, 0], torch.zeros(64, 3))
    # The root sits at depth bin C/2, i.e. normalised depth 0 (model/data/targets.py's convention).
    assert torch.allclose(inp[:, 0, 2], torch.zeros(64), atol=1e-6)
    # Deeper joints (larger target z) have larger normalised z: the depth input encodes the target.
    dz_in = inp[..., 2] - inp[:, :1, 2]
    assert torch.corrcoef(torch.stack([dz_in.flatten(), target[..., 2].flatten()]))[0, 1] > 0.999
    # Normalised to the geodesic length of Eq. 10 (neck to knee = 1077 mm).
    from model.data.targets import geodesic_length

    assert torch.allclose(geodesic_length(target), torch.full((64,), 1077.0), atol=0.5)


def test_checkpoint_loads_through_export(tmp_path):
    from model.net.checkpoint import load_checkpoint
    from model.net.network import CascadeNet

    cfg = ModelConfig.tiny()
    net = CascadeNet(cfg).eval()
    payload = checkpoint_payload(net, cfg, DistillTrainConfig(), step=3, elapsed=1.0, logs={"total": 1.0}, fp16=True)
    path = tmp_path / "w.pt"
    torch.save(payload, path)
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg and ckpt.preprocessing["crop_padding"] == 1.25
    rebuilt = ckpt.build_network("cpu")
    x = torch.randn(2, 3, cfg.input_size, cfg.input_size)
    with torch.no_grad():
        a, b = net.infer(x), rebuilt.infer(x)
    # fp16 storage: outputs agree to fp16 precision of the weights.
    assert torch.allclose(a[0], b[0], atol=0.5) and torch.allclose(a[1], b[1], atol=20.0)


def test_stage2_trains_only_the_lifting_block(tmp_path):
    from model.training.distill_train import stage2
    from model.net.network import CascadeNet

    data = _dot_set()
    np.savez(tmp_path / "train.npz", **data)
    np.savez(tmp_path / "mocap.npz", stand=np.tile(STAND * np.array([1, -1, 1]), (10, 1, 1)))  # y up, as clips
    cfg = ModelConfig.tiny()
    net = CascadeNet(cfg).eval()
    torch.save(checkpoint_payload(net, cfg, DistillTrainConfig(), 0, 0.0, {}), tmp_path / "weights.pt")
    stage2(str(tmp_path), str(tmp_path), DistillTrainConfig(threads=1, mocap_batch=32), steps=40, footage_batch=4)
    before = torch.load(tmp_path / "weights_stage1.pt", weights_only=True)["model"]
    after = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert after["progress"]["stage2"]["steps"] == 40
    changed = {k for k in before if not torch.equal(before[k], after["model"][k])}
    assert changed and all(k.startswith("lifting.") for k in changed)


def test_training_without_mocap_clips_says_what_to_install(tmp_path, monkeypatch, capsys):
    """Where pybullet (which ships the clips) is absent and no mocap.npz was written: one line, exit 2."""
    import model.data.mocap
    from model.training import distill_train

    monkeypatch.setattr(model.data.mocap, "motion_files", lambda: [])
    with pytest.raises(distill_train.DatasetError, match=r"mocap.npz: no mocap clips .*pybullet==3.2.7"):
        distill_train.mocap_poses(str(tmp_path))
    np.savez(tmp_path / "mocap.npz", walk=np.zeros((2, 17, 3)))
    assert distill_train.mocap_poses(str(tmp_path)).shape == (2, 17, 3)
    assert distill_train.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run"),
                               "--stage2-steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "train.npz" in err and "\n" not in err
    assert distill_train.main(["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "run"),
                               "--minutes", "0.01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "train.npz" in err and "\n" not in err


def test_labels_geodesic_is_the_mean_of_the_triangulated_labels(tmp_path):
    from model.data.datasets.common import DatasetError
    from model.data.datasets.distill import labels_geodesic_mm
    from model.data.targets import geodesic_length

    data = _dot_set()
    data["joints_3d"] = data["joints_3d"] * np.array([1.0, 2.0, 0.5, 3.0])[:, None, None]  # four sizes
    np.savez(tmp_path / "train.npz", **data)
    one = float(geodesic_length(torch.tensor(STAND[None]).float())[0])
    # Only the weight-1 (triangulated) labels count: sizes 1 and 0.5, not the teacher's world landmarks.
    assert labels_geodesic_mm(str(tmp_path / "train.npz")) == pytest.approx(0.75 * one, rel=1e-5)
    data["weight_3d"] = np.full(4, 0.3)
    np.savez(tmp_path / "none.npz", **data)
    with pytest.raises(DatasetError, match="none.npz: no triangulated 3D labels"):
        labels_geodesic_mm(str(tmp_path / "none.npz"))
