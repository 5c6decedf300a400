"""Dataset readers on tiny fixtures written in each dataset's real on-disk format (3DMPPE JSON + JPEGs)."""

import numpy as np
import pytest
import torch
from torch.utils.data import ConcatDataset, DataLoader

from model.net.skeleton import JOINT_NAMES, NUM_JOINTS
from model.data.augment import AugmentConfig
from model.data.datasets import DatasetError, load_records
from model.data.datasets.coco import COCO_JOINTS
from model.data.datasets.common import H36M_ACTIONS, project
from model.data.datasets.loader import CropDataset, MixedBatchSampler, mixed_counts
from model.data.datasets.mpii import MPII_JOINTS
from model.data.datasets.muco import MPI_JOINTS

from tests.model.data.dataset_fixtures import H, W, h36m_camera, keypoints, make_h36m, make_mpii, write_jpg, write_json

J = {name: i for i, name in enumerate(JOINT_NAMES)}


def _bright_centroid(image_chw: torch.Tensor) -> np.ndarray:
    channel = image_chw[0].numpy()
    ys, xs = np.nonzero(channel > channel.max() * 0.6)
    return np.array([xs.mean(), ys.mean()])


# ------------------------------------------------------------------------------------ Human3.6M

def test_human36m_protocols_strides_and_geometry(tmp_path):
    root = str(tmp_path / "Human36M")
    make_h36m(root)
    p1_train = load_records("human36m", root, "train", protocol=1)
    p1_test = load_records("human36m", root, "test", protocol=1)
    p2_train = load_records("human36m", root, "train", protocol=2)
    p2_test = load_records("human36m", root, "test", protocol=2)
    assert {r.subject for r in p1_train} == {1, 5, 6, 7, 8}
    assert {r.subject for r in p1_test} == {9, 11}
    assert {r.subject for r in p2_train} == {1, 5, 6, 7, 8, 9}
    assert {r.subject for r in p2_test} == {11}
    frames = lambda records: sorted({int(r.image_path[-10:-4]) - 1 for r in records})  # noqa: E731
    assert frames(p1_train) == [0, 5, 65]  # every 5th frame
    assert frames(p1_test) == [0, 64]  # every 64th frame
    assert len(p1_train) == 5 * 2 * 3 and len(p1_test) == 2 * 2 * 2
    assert {r.action for r in p1_test} == {0, 14}
    assert H36M_ACTIONS[14] == "WalkTogether"

    record = next(r for r in p1_test if r.image_path.endswith("_000001.jpg"))
    rotation, position, focal, centre = h36m_camera()
    # Hand-computed for the pelvis at the world origin: X_cam = R (0 - t).
    np.testing.assert_allclose(record.joints_3d[0], rotation @ -position, atol=1e-9)
    expected_uv = focal * record.joints_3d[:, :2] / record.joints_3d[:, 2:] + centre
    np.testing.assert_allclose(record.joints_2d, expected_uv, atol=1e-9)
    assert record.has_3d and record.valid_3d.all() and record.valid_2d.all()
    np.testing.assert_allclose(record.box_xywh[:2], record.joints_2d.min(axis=0), atol=1e-6)

    # The crop puts the pelvis label on the dot drawn at the pelvis in the JPEG.
    sample = CropDataset([record], (64, 64), AugmentConfig(enabled=False))[0]
    assert sample.image.shape == (3, 64, 64) and sample.image.dtype == torch.float32
    np.testing.assert_allclose(_bright_centroid(sample.image), sample.joints_2d[0].numpy(), atol=1.0)
    np.testing.assert_allclose(sample.joints_3d[0].numpy(), 0.0, atol=1e-4)  # root-relative
    assert float(sample.has_3d) == 1.0


def test_human36m_missing_files_are_one_line_errors(tmp_path):
    with pytest.raises(DatasetError, match="Human3.6M folder not found"):
        load_records("human36m", str(tmp_path / "nope"), "train")
    root = tmp_path / "Human36M"
    (root / "annotations").mkdir(parents=True)
    with pytest.raises(DatasetError, match="Human36M_subject1_data.json: subject 1 annotations not found"):
        load_records("human36m", str(root), "train")
    (root / "annotations" / "Human36M_subject1_data.json").write_text("{broken")
    with pytest.raises(DatasetError) as info:
        load_records("human36m", str(root), "train")
    assert "not valid JSON" in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------ MPII / COCO

def test_mpii_reader_maps_joints(tmp_path):
    root = tmp_path / "MPII"
    write_jpg(str(root / "images" / "000001.jpg"))
    coords = lambda i: (100.0 + 5 * i, 50.0 + 7 * i)  # noqa: E731
    data = {
        "images": [{"id": 1, "file_name": "000001.jpg", "width": W, "height": H}],
        "annotations": [
            {"id": 1, "image_id": 1, "bbox": [90.0, 40.0, 100.0, 150.0], "num_keypoints": 15,
             "keypoints": keypoints(MPII_JOINTS, coords, unlabelled=("l_wrist",))},
            {"id": 2, "image_id": 1, "bbox": [0.0, 0.0, 10.0, 10.0], "num_keypoints": 0, "keypoints": [0] * 48},
        ],
    }
    write_json(str(root / "annotations" / "train.json"), data)
    records = load_records("mpii", str(root), "train")
    assert len(records) == 1
    r = records[0]
    assert not r.has_3d and not r.valid_3d.any()
    assert r.image_path == str(root / "images" / "000001.jpg")
    source = {name: coords(i) for i, name in enumerate(MPII_JOINTS)}
    np.testing.assert_allclose(r.joints_2d[J["pelvis"]], source["pelvis"])
    np.testing.assert_allclose(r.joints_2d[J["head"]], source["head_top"])
    np.testing.assert_allclose(r.joints_2d[J["thorax"]], source["thorax"])
    np.testing.assert_allclose(r.joints_2d[J["r_ankle"]], source["r_ankle"])
    np.testing.assert_allclose(r.joints_2d[J["spine"]], np.mean([source["pelvis"], source["thorax"]], axis=0))
    assert not r.valid_2d[J["nose"]] and not r.valid_2d[J["l_wrist"]]
    assert r.valid_2d.sum() == NUM_JOINTS - 2
    sample = CropDataset(records, (64, 64), AugmentConfig(enabled=False))[0]
    assert float(sample.has_3d) == 0.0 and float(sample.valid_3d.sum()) == 0.0


def test_coco_reader_derives_pelvis_thorax_spine(tmp_path):
    root = tmp_path / "MSCOCO"
    write_jpg(str(root / "images" / "train2017" / "000000000009.jpg"))
    coords = lambda i: (60.0 + 9 * i, 30.0 + 8 * i)  # noqa: E731
    full = keypoints(COCO_JOINTS, coords)
    no_hip = keypoints(COCO_JOINTS, coords, unlabelled=("l_hip",))
    anns = [
        {"id": 1, "image_id": 9, "bbox": [50.0, 20.0, 160.0, 170.0], "iscrowd": 0, "num_keypoints": 17, "keypoints": full},
        {"id": 2, "image_id": 9, "bbox": [50.0, 20.0, 160.0, 170.0], "iscrowd": 0, "num_keypoints": 16, "keypoints": no_hip},
        {"id": 3, "image_id": 9, "bbox": [50.0, 20.0, 160.0, 170.0], "iscrowd": 1, "num_keypoints": 17, "keypoints": full},
        {"id": 4, "image_id": 9, "bbox": [50.0, 20.0, 160.0, 170.0], "iscrowd": 0, "num_keypoints": 0, "keypoints": [0] * 51},
    ]
    write_json(str(root / "annotations" / "person_keypoints_train2017.json"),
                {"images": [{"id": 9, "file_name": "000000000009.jpg", "width": W, "height": H}], "annotations": anns})
    records = load_records("coco", str(root), "train")
    assert len(records) == 2
    source = {name: np.array(coords(i)) for i, name in enumerate(COCO_JOINTS)}
    r = records[0]
    pelvis = (source["l_hip"] + source["r_hip"]) / 2
    thorax = (source["l_shoulder"] + source["r_shoulder"]) / 2
    np.testing.assert_allclose(r.joints_2d[J["pelvis"]], pelvis)
    np.testing.assert_allclose(r.joints_2d[J["thorax"]], thorax)
    np.testing.assert_allclose(r.joints_2d[J["spine"]], (pelvis + thorax) / 2)
    np.testing.assert_allclose(r.joints_2d[J["nose"]], source["nose"])
    np.testing.assert_allclose(r.joints_2d[J["l_knee"]], source["l_knee"])
    assert not r.valid_2d[J["head"]] and r.valid_2d.sum() == NUM_JOINTS - 1
    r2 = records[1]
    assert not r2.valid_2d[J["l_hip"]] and not r2.valid_2d[J["pelvis"]] and not r2.valid_2d[J["spine"]]
    assert r.image_path == str(root / "images" / "train2017" / "000000000009.jpg")


# ------------------------------------------------------------------------------------ MuCo / MuPoTS

def _mpi_person(root_xyz, joints=21) -> tuple[list, list]:
    rng = np.random.default_rng(int(abs(root_xyz[0])) + joints)
    cam = np.asarray(root_xyz, float) + rng.normal(0.0, 150.0, (joints, 3))
    cam[MPI_JOINTS.index("pelvis")] = root_xyz
    uv = project(cam, np.array([1000.0, 1000.0]), np.array([160.0, 120.0]))
    return uv.tolist(), cam.tolist()


def test_muco_reader_selects_separated_people_and_maps_joints(tmp_path):
    root = tmp_path / "MuCo"
    write_jpg(str(root / "data" / "augmented_set" / "1.jpg"))
    people = {"A": [0.0, 0.0, 3000.0], "B": [600.0, 0.0, 4000.0], "C": [800.0, 100.0, 4100.0], "D": [-2000.0, 0.0, 6000.0]}
    anns = []
    for i, xyz in enumerate(people.values()):
        uv, cam = _mpi_person(xyz)
        anns.append({"id": i, "image_id": 1, "bbox": [10.0 + 20 * i, 10.0, 80.0, 150.0],
                     "keypoints_img": uv, "keypoints_cam": cam})
    write_json(str(root / "data" / "MuCo-3DHP.json"), {
        "images": [{"id": 1, "file_name": "augmented_set/1.jpg", "width": W, "height": H,
                    "f": [1000.0, 1000.0], "c": [160.0, 120.0]}],
        "annotations": anns,
    })
    records = load_records("muco", str(root), "train")
    # A is the closest; B and C are within 500 mm of each other; D is far from everyone.
    assert sorted(r.joints_3d[0, 2] for r in records) == [3000.0, 6000.0]
    r = next(r for r in records if r.joints_3d[0, 2] == 3000.0)
    source = np.asarray(anns[0]["keypoints_cam"])
    np.testing.assert_allclose(r.joints_3d[J["head"]], source[MPI_JOINTS.index("head_top")])
    np.testing.assert_allclose(r.joints_3d[J["nose"]], source[MPI_JOINTS.index("head")])
    np.testing.assert_allclose(r.joints_3d[J["spine"]], source[MPI_JOINTS.index("spine")])
    np.testing.assert_allclose(r.joints_3d[J["l_wrist"]], source[MPI_JOINTS.index("l_wrist")])
    np.testing.assert_allclose(r.joints_2d, project(r.joints_3d, r.focal, r.center), atol=1e-6)
    assert r.has_3d and r.valid_2d.all() and r.valid_3d.all()
    assert r.image_path == str(root / "data" / "augmented_set" / "1.jpg")


def test_mupots_reader_keeps_valid_people_and_sequences(tmp_path):
    root = tmp_path / "MuPoTS"
    images, anns = [], []
    for image_id, (name, persons) in enumerate([("TS1/img_000000.jpg", 2), ("TS12/img_000003.jpg", 1)]):
        write_jpg(str(root / "data" / "MultiPersonTestSet" / name))
        images.append({"id": image_id, "file_name": name, "width": W, "height": H,
                       "intrinsic": [1000.0, 1000.0, 160.0, 120.0]})
        for k in range(persons):
            uv, cam = _mpi_person([300.0 * k, 0.0, 4000.0], joints=17)
            anns.append({"id": len(anns), "image_id": image_id, "bbox": [50.0, 20.0, 90.0, 180.0],
                         "keypoints_img": uv, "keypoints_cam": cam, "is_valid": 0 if k == 1 else 1})
    write_json(str(root / "data" / "MuPoTS-3D.json"), {"images": images, "annotations": anns})
    records = load_records("mupots", str(root), "test")
    assert [r.sequence for r in records] == ["TS1", "TS12"]
    np.testing.assert_allclose(records[0].focal, [1000.0, 1000.0])
    np.testing.assert_allclose(records[0].center, [160.0, 120.0])
    np.testing.assert_allclose(records[0].joints_3d[J["head"]], np.asarray(anns[0]["keypoints_cam"])[0])
    sample = CropDataset(records, (64, 64), AugmentConfig(enabled=False))[1]
    assert sample.image.shape == (3, 64, 64) and int(sample.index) == 1


# ------------------------------------------------------------------------------------ mixed batches

def test_mixed_batch_sampler_halves_and_covers_the_3d_part():
    sampler = MixedBatchSampler(sizes=(12, 5), counts=mixed_counts(8, 0.5, 2), seed=3)
    assert sampler.counts == (4, 4) and len(sampler) == 3
    batches = list(sampler)
    assert all(len(b) == 8 for b in batches)
    assert all(all(i < 12 for i in b[:4]) and all(12 <= i < 17 for i in b[4:]) for b in batches)
    assert sorted(i for b in batches for i in b[:4]) == list(range(12))  # one pass over the 3D part
    assert batches == list(sampler)  # same epoch, same batches
    sampler.set_epoch(1)
    assert batches != list(sampler)
    assert mixed_counts(64, 0.5, 2) == (32, 32) and mixed_counts(64, 1.0, 1) == (64,)


def test_mixed_batches_from_real_readers(tmp_path):
    h36m = tmp_path / "Human36M"
    make_h36m(str(h36m))
    mpii = tmp_path / "MPII"
    make_mpii(str(mpii))
    part_3d = CropDataset(load_records("human36m", str(h36m), "train"), (64, 64), AugmentConfig())
    part_2d = CropDataset(load_records("mpii", str(mpii), "train"), (64, 64), AugmentConfig())
    sampler = MixedBatchSampler((len(part_3d), len(part_2d)), mixed_counts(4, 0.5, 2))
    batch = next(iter(DataLoader(ConcatDataset([part_3d, part_2d]), batch_sampler=sampler)))
    assert batch.image.shape == (4, 3, 64, 64)
    assert batch.has_3d.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert batch.valid_3d[2:].sum() == 0 and batch.joints_3d.shape == (4, NUM_JOINTS, 3)
