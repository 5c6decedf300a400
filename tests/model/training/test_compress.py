"""The stride-8 student of model/training/compress.py: config, weight transfer, loss, and the shipped checkpoint."""

import pytest
import torch

from model.net.checkpoint import CheckpointError, load_checkpoint, make_payload, save_checkpoint
from model.training.compress import CompressConfig, compress_loss, frozen_parts, init_student, ship, student_config
from model.net.config import ModelConfig
from model.net.network import CascadeNet


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return CascadeNet(ModelConfig.tiny()).eval()


def test_student_has_half_the_heatmap_and_every_teacher_weight(teacher):
    cfg = student_config(teacher.cfg)
    assert cfg.heatmap_size * 2 == teacher.cfg.heatmap_size and cfg.stride == 2 * teacher.cfg.stride
    student, fresh = init_student(teacher, cfg)
    assert fresh == []
    theirs = teacher.state_dict()
    for name, tensor in student.state_dict().items():
        assert torch.equal(tensor, theirs[name]), name
    # Only the third deconv (and its BatchNorm) of the teacher has no place in the student.
    dropped = sorted({k.split(".")[2] for k in theirs if k not in student.state_dict()})
    assert dropped == ["6", "7"]


def test_the_loss_trains_the_heads_and_leaves_backbone_and_lifting_alone(teacher):
    torch.manual_seed(1)
    student, _ = init_student(teacher, student_config(teacher.cfg))
    frozen = frozen_parts(student)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    trainable = [p for p in student.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=1e-3)
    images = torch.randn(8, 3, teacher.cfg.input_size, teacher.cfg.input_size)
    student.train()
    for part in frozen:
        part.eval()
    losses = []
    for _ in range(15):
        with torch.no_grad():
            features = teacher.backbone(images)
            target = teacher.decode(features)
        loss, logs = compress_loss(student.decode(features), target, student.cfg, teacher.cfg, CompressConfig())
        assert set(logs) == {"heat", "depth", "uv", "z", "pose", "maps", "loss"}
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses
    after = student.state_dict()
    for name, tensor in before.items():
        if name.startswith(("backbone.", "lifting.")):
            assert torch.equal(after[name], tensor), f"{name} moved"
    assert not torch.equal(after["bone_joint.bone.0.0.weight"], before["bone_joint.bone.0.0.weight"])


def test_ship_grafts_a_person_head_only_onto_the_same_backbone(teacher, tmp_path):
    student, _ = init_student(teacher, student_config(teacher.cfg))
    src = tmp_path / "weights.pt"
    save_checkpoint(src, make_payload(student.eval(), student.cfg))
    donor_cfg = teacher.cfg.replace(person_head=8)
    torch.manual_seed(2)
    donor = CascadeNet(donor_cfg)
    donor.load_state_dict({**donor.state_dict(), **{k: v for k, v in teacher.state_dict().items()}})
    donor_path = tmp_path / "donor.pt"
    save_checkpoint(donor_path, make_payload(donor.eval(), donor_cfg))

    ship(str(src), str(tmp_path / "shipped.pt"), str(donor_path))
    shipped = load_checkpoint(tmp_path / "shipped.pt")
    assert shipped.config.person_head == 8 and shipped.config.heatmap_size == student.cfg.heatmap_size
    net = shipped.build_network()
    assert torch.allclose(net.person_head.mlp[0].weight, donor.person_head.mlp[0].weight.half().float())
    out = net.infer_outputs(torch.zeros(2, 3, net.cfg.input_size, net.cfg.input_size))
    assert out["person_score"].shape == (2,)

    other = CascadeNet(donor_cfg)  # a different (random) backbone
    other_path = tmp_path / "other.pt"
    save_checkpoint(other_path, make_payload(other.eval(), donor_cfg))
    with pytest.raises(CheckpointError, match="backbone differs"):
        ship(str(src), str(tmp_path / "refused.pt"), str(other_path))


def test_resume_training_restores_weights_optimiser_and_progress(teacher, tmp_path):
    from model.net.checkpoint import resume_training

    student, _ = init_student(teacher, student_config(teacher.cfg))
    opt = torch.optim.Adam([p for p in student.parameters() if p.requires_grad], lr=1e-3)
    loss = student(torch.randn(2, 3, teacher.cfg.input_size, teacher.cfg.input_size)).uvz.sum()
    loss.backward()
    opt.step()
    payload = make_payload(student, student.cfg, progress={"step": 7, "elapsed_s": 60.0})
    payload["optimizer"] = opt.state_dict()
    save_checkpoint(tmp_path / "last.pt", payload)

    fresh, _ = init_student(teacher, student_config(teacher.cfg))
    fresh_opt = torch.optim.Adam([p for p in fresh.parameters() if p.requires_grad], lr=1e-3)
    assert resume_training(tmp_path / "missing.pt", fresh, fresh_opt) is None
    assert resume_training(tmp_path / "last.pt", fresh, fresh_opt) == {"step": 7, "elapsed_s": 60.0}
    for name, tensor in student.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], tensor), name
    assert fresh_opt.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


def test_ship_sets_the_output_scale_and_keeps_every_tensor(teacher, tmp_path):
    student, _ = init_student(teacher, student_config(teacher.cfg))
    src = tmp_path / "weights.pt"
    save_checkpoint(src, make_payload(student.eval(), student.cfg))
    ship(str(src), str(tmp_path / "shipped.pt"), output_geodesic_mm=969.46)
    shipped = load_checkpoint(tmp_path / "shipped.pt")
    assert shipped.config.output_geodesic_mm == 969.5 and shipped.config.geodesic_mm == student.cfg.geodesic_mm
    mine = student.state_dict()
    assert all(torch.equal(v, mine[k].half().float()) for k, v in shipped.build_network().state_dict().items())


def test_ship_sets_the_crop_padding_keeps_it_otherwise_and_refuses_nonsense(teacher, tmp_path):
    student, _ = init_student(teacher, student_config(teacher.cfg))
    src = tmp_path / "weights.pt"
    save_checkpoint(src, make_payload(student.eval(), student.cfg, crop_padding=1.1))
    ship(str(src), str(tmp_path / "kept.pt"))
    assert load_checkpoint(tmp_path / "kept.pt").preprocessing["crop_padding"] == 1.1
    ship(str(src), str(tmp_path / "padded.pt"), crop_padding=1.04)
    shipped = load_checkpoint(tmp_path / "padded.pt")
    assert shipped.preprocessing["crop_padding"] == 1.04
    mine = student.state_dict()
    assert all(torch.equal(v, mine[k].half().float()) for k, v in shipped.build_network().state_dict().items())
    for bad in (0.0, float("nan"), 7.0):
        with pytest.raises(CheckpointError, match="crop padding"):
            ship(str(src), str(tmp_path / "bad.pt"), crop_padding=bad)
