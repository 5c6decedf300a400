"""Tests of the body model, scenes and the generator command with anny (skipped where requirements-synth.txt
is not installed: anny compiles kernels for minutes on a fresh machine)."""

import argparse
import os

import numpy as np
import pytest

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
pytest.importorskip("anny", reason="anny is not installed (requirements-synth.txt); synthetic people untested here")

from model.data.synth import generate  # noqa: E402
from model.data.synth.body import BodyModel  # noqa: E402
from model.data.synth.camera import project_camera  # noqa: E402
from model.data.synth.poses import BodyPose, arm  # noqa: E402
from model.data.synth.scene import SceneMaker  # noqa: E402
from model.data.synth.shards import ShardSet  # noqa: E402

AVERAGE = {k: 0.5 for k in ("gender", "age", "muscle", "weight", "height", "proportions")}


@pytest.fixture(scope="module")
def body_model():
    return BodyModel()


def test_neutral_body_joints(body_model):
    body = body_model.forward([AVERAGE], [BodyPose(root=np.eye(3))])[0]
    j = body.joints  # world m, Z up; anny faces -Y, its right is -X
    assert 1.5 < body.height_m < 1.75
    assert j[3, 2] < j[2, 2] < j[1, 2] < j[8, 2] < j[9, 2] < j[10, 2]  # ankle < knee < hip < thorax < nose < head
    assert j[1, 0] < 0 < j[4, 0] and j[14, 0] < 0 < j[11, 0]  # right side at -X
    assert j[9, 1] < j[10, 1]  # the nose is in front (-Y) of the head top
    assert 0.25 < np.linalg.norm(j[11] - j[14]) < 0.4  # shoulder width
    assert np.linalg.norm(j[13] - j[12]) == pytest.approx(np.linalg.norm(j[16] - j[15]), abs=0.01)


def test_raised_arm_moves_the_wrist_above_the_head(body_model):
    segments = {}
    segments["upperarm.R"], segments["lowerarm.R"] = arm(1, 175.0, 0.0, 0.0, 0.0)
    body = body_model.forward([AVERAGE], [BodyPose(root=np.eye(3), segments=segments)])[0]
    assert body.joints[16, 2] > body.joints[10, 2] + 0.1  # right wrist above the head top
    assert body.joints[13, 2] < body.joints[8, 2]  # the left wrist still hangs


@pytest.fixture(scope="module")
def maker(body_model, tmp_path_factory):
    m = SceneMaker("train", 7, body_model=body_model,
                   mocap_cache=str(tmp_path_factory.mktemp("mocap") / "mocap_clips.npz"))
    yield m
    m.close()


@pytest.mark.parametrize("index,family", [(0, None), (1, "crouch"), (2, "mocap")])
def test_scene_labels_are_projections(maker, index, family):
    import cv2

    sample = maker.make(index, family=family)
    lab = sample.labels
    absolute = lab["joints_3d"].astype(np.float64) + lab["root_mm"]
    assert np.allclose(lab["joints_3d"][0], 0) and absolute[0, 2] > 0
    assert np.allclose(project_camera(absolute, lab["K"].astype(np.float64)), lab["joints_2d"], atol=0.05)
    uv = lab["joints_2d"]
    within = ((uv >= 0) & (uv <= 255)).all(1)
    assert not (lab["inside"] & ~within).any()
    if "frame_edge" not in sample.meta["effects"]:  # else joints beyond the full frame's edge are not inside
        assert np.array_equal(lab["inside"], within)
    mask = cv2.imdecode(np.frombuffer(sample.mask_png, np.uint8), cv2.IMREAD_GRAYSCALE)
    # A torso joint neither outside the crop nor behind someone else lies on the target's own pixels.
    for j in (0, 7, 8):
        if lab["inside"][j] and not lab["occluded"][j]:
            x, y = np.round(uv[j]).astype(int)
            assert mask[y, x] == 255
    assert sample.meta["people"][0]["pose"]["family"] == (family or sample.meta["people"][0]["pose"]["family"])
    rot = lab["frames"].astype(np.float64)
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-4)


def test_generator_resumes_the_same_samples(tmp_path, body_model, monkeypatch, capsys):
    out = str(tmp_path / "set")
    args = argparse.Namespace(out=out, count=3, seed=4, split="heldout", size=256, shard_size=2, card_every=10,
                              threads=1, footage_poses="", family=None)
    assert generate.run(args) == 0
    first = ShardSet(out).labels["joints_2d"].copy()
    assert len(first) == 3 and os.path.isfile(os.path.join(out, "data_card.json"))
    os.remove(os.path.join(out, "shard_00001.npz"))  # as if killed while writing the last shard
    assert generate.run(args) == 0
    assert "2 samples in complete shards, 1 shards to make" in capsys.readouterr().out
    assert np.allclose(ShardSet(out).labels["joints_2d"], first)
