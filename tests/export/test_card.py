"""The model card: JSON round trip, atomic writes, engine cache names and refusal of stale or foreign artifacts."""

import json
import os

import pytest

from export.card import (
    Artifact, CardError, ModelCard, OutputSpec, StaleArtifactError, check_artifact, engine_filename,
    pick_tensorrt_artifact, read_card, sha256_file, write_card,
)

H100 = ("NVIDIA H100 80GB HBM3", "9.0", "10.3.0")
A100 = ("NVIDIA A100-SXM4-40GB", "8.0", "10.3.0")


def make_card(tmp_path, artifacts=()) -> ModelCard:
    checkpoint = tmp_path / "net.pt"
    checkpoint.write_bytes(b"weights")
    return ModelCard(
        name="net", joint_names=("pelvis", "r_hip", "r_knee"), parents=(-1, 0, 1), input_name="images",
        input_size=64, channel_order="RGB", pixel_scale=255.0, pixel_mean=(0.485, 0.456, 0.406),
        pixel_std=(0.229, 0.224, 0.225), crop_padding=1.25, crop_aspect=1.0,
        outputs=(OutputSpec("uvz", (-1, 3, 3), "2.5D", "px, px, mm"), OutputSpec("joints_3d", (-1, 3, 3), "3D", "mm")),
        checkpoint_file="net.pt", checkpoint_sha256=sha256_file(checkpoint),
        model_config={"backbone": "resnet18", "deconv_channels": [64, 32, 32]},
        exporter={"torch": "2.13.0", "onnx": "1.22.0", "onnxruntime": "1.32.0"}, created_utc="2026-11-27T03:00:00Z",
        artifacts=tuple(artifacts),
    )


def engine_artifact(tmp_path, card, machine, precision="fp16", max_batch=16, content=b"engine") -> Artifact:
    gpu, cc, trt = machine
    file = engine_filename("net", card.checkpoint_sha256, precision, max_batch, gpu, cc, trt)
    (tmp_path / file).write_bytes(content)
    return Artifact(
        kind="tensorrt", file=file, sha256=sha256_file(tmp_path / file), precision=precision, max_batch=max_batch,
        checkpoint_sha256=card.checkpoint_sha256, tensorrt_version=trt, gpu_name=gpu, compute_capability=cc,
    )


def test_card_round_trips_through_json(tmp_path):
    card = make_card(tmp_path)
    onnx_file = tmp_path / "net.onnx"
    onnx_file.write_bytes(b"onnx")
    card = card.with_artifact(Artifact(
        kind="onnx", file="net.onnx", sha256=sha256_file(onnx_file), precision="fp32", max_batch=0,
        checkpoint_sha256=card.checkpoint_sha256, opset=17, parity={"max_mm": 0.001, "max_px": 0.0001},
    ))
    card = card.with_artifact(engine_artifact(tmp_path, card, H100))
    path = write_card(card, tmp_path / "net.card.json")
    again = read_card(path)
    assert again == card
    assert again.output("joints_3d").units == "mm"
    assert again.artifacts[1].gpu_name == H100[0]
    # Plain JSON anyone can read, and nothing left behind by the atomic write.
    assert json.loads(path.read_text())["joint_names"] == ["pelvis", "r_hip", "r_knee"]
    assert sorted(os.listdir(tmp_path)) == sorted(["net.pt", "net.onnx", "net.card.json", card.artifacts[1].file])


def test_with_artifact_replaces_the_record_of_the_same_file(tmp_path):
    card = make_card(tmp_path)
    first = engine_artifact(tmp_path, card, H100)
    second = engine_artifact(tmp_path, card, H100, content=b"rebuilt")
    card = card.with_artifact(first).with_artifact(second)
    assert card.artifacts == (second,)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "model card not found"),
        ("{not json", "not valid JSON"),
        (json.dumps({"format": "something-else"}), "not a model card"),
        (json.dumps({"format": "cascade3d-model-card", "version": 99}), "version 99 is not supported"),
        (json.dumps({"format": "cascade3d-model-card", "version": 1, "name": "x"}), "fields missing"),
    ],
)
def test_bad_cards_are_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.card.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CardError) as info:
        read_card(path)
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_engine_cache_name_changes_with_every_key():
    base = dict(stem="net", checkpoint_sha256="ab" * 32, precision="fp16", max_batch=16,
                gpu_name="NVIDIA H100 80GB HBM3", compute_capability="9.0", tensorrt_version="10.3.0")
    name = engine_filename(**base)
    assert name == "net.abababababab.fp16.b16.nvidia-h100-80gb-hbm3-sm90.trt10.3.0.engine"
    changes = dict(checkpoint_sha256="cd" * 32, precision="fp32", max_batch=64, gpu_name="NVIDIA A100",
                   compute_capability="8.0", tensorrt_version="10.4.0")
    names = {engine_filename(**(base | {k: v})) for k, v in changes.items()}
    assert name not in names and len(names) == len(changes)


def test_matching_engine_is_accepted(tmp_path):
    card = make_card(tmp_path)
    artifact = engine_artifact(tmp_path, card, H100)
    card = card.with_artifact(artifact)
    assert check_artifact(card, artifact, tmp_path, *H100) == tmp_path / artifact.file


def test_engine_for_another_gpu_is_refused_with_the_reason(tmp_path):
    card = make_card(tmp_path)
    artifact = engine_artifact(tmp_path, card, A100)
    card = card.with_artifact(artifact)
    with pytest.raises(StaleArtifactError) as info:
        check_artifact(card, artifact, tmp_path, *H100)
    message = str(info.value)
    assert "built for NVIDIA A100-SXM4-40GB (sm80)" in message
    assert "this machine has NVIDIA H100 80GB HBM3 (sm90)" in message
    assert "--tensorrt" in message and "\n" not in message


def test_engine_for_another_tensorrt_version_is_refused(tmp_path):
    card = make_card(tmp_path)
    artifact = engine_artifact(tmp_path, card, H100)
    card = card.with_artifact(artifact)
    with pytest.raises(StaleArtifactError, match=r"with TensorRT 10\.3\.0, but this machine has .* TensorRT 10\.5\.1"):
        check_artifact(card, artifact, tmp_path, H100[0], H100[1], "10.5.1")


def test_engine_from_another_checkpoint_is_refused(tmp_path):
    card = make_card(tmp_path)
    artifact = engine_artifact(tmp_path, card, H100)
    foreign = ModelCard.from_dict(card.to_dict() | {"checkpoint_sha256": "f" * 64})
    with pytest.raises(StaleArtifactError, match="built from checkpoint .* but the card describes checkpoint ffffffffffff"):
        check_artifact(foreign.with_artifact(artifact), artifact, tmp_path, *H100)


def test_changed_or_missing_artifact_file_is_refused(tmp_path):
    card = make_card(tmp_path)
    artifact = engine_artifact(tmp_path, card, H100)
    card = card.with_artifact(artifact)
    (tmp_path / artifact.file).write_bytes(b"tampered")
    with pytest.raises(StaleArtifactError, match="file changed since export"):
        check_artifact(card, artifact, tmp_path, *H100)
    (tmp_path / artifact.file).unlink()
    with pytest.raises(StaleArtifactError, match="listed in the card is missing"):
        check_artifact(card, artifact, tmp_path, *H100)


def test_pick_prefers_a_matching_fp16_engine_and_explains_when_none_fits(tmp_path):
    card = make_card(tmp_path)
    foreign = engine_artifact(tmp_path, card, A100)
    fp32 = engine_artifact(tmp_path, card, H100, precision="fp32")
    fp16 = engine_artifact(tmp_path, card, H100, precision="fp16")
    card = card.with_artifact(foreign).with_artifact(fp32).with_artifact(fp16)
    assert pick_tensorrt_artifact(card, tmp_path, *H100)[0] == fp16
    assert pick_tensorrt_artifact(card, tmp_path, *H100, precision="fp32")[0] == fp32
    with pytest.raises(StaleArtifactError, match="built for NVIDIA"):
        pick_tensorrt_artifact(card, tmp_path, "NVIDIA L4", "8.9", "10.3.0")
    with pytest.raises(CardError, match="lists no TensorRT engine"):
        pick_tensorrt_artifact(make_card(tmp_path), tmp_path, *H100)


@pytest.mark.parametrize("field, value, expected", [
    ("input_size", 100000, "'input_size' is 100000, expected an integer from 1 to 1024"),  # asked for 83.8 GiB
    ("parents", [-1, 2, 0], "the parent of joint 1 comes after it"),
])
def test_a_card_the_app_cannot_run_is_refused_by_the_check(tmp_path, field, value, expected):
    """Issue 26.16: such a card passed read_card, then failed on the first frame."""
    path = write_card(make_card(tmp_path), tmp_path / "net.card.json")
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(CardError) as info:
        read_card(path)
    message = str(info.value)
    assert expected in message and str(path) in message and "\n" not in message, message


def test_the_card_bound_is_the_checkpoint_bound():
    from export.card import MAX_INPUT_SIZE as CARD_MAX
    from model.net.checkpoint import MAX_INPUT_SIZE
    assert CARD_MAX == MAX_INPUT_SIZE
