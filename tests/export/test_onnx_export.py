"""ONNX export of random-weight and bundled checkpoints: graph I/O, ONNX Runtime vs PyTorch parity, caching, errors."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import main
from export.card import read_card
from model.net.checkpoint import load_checkpoint, make_random_checkpoint
from export.onnx_export import ONNX_OPSET, align_conv_channels, onnx_io
from export.parity import ParityError, TOLERANCES, compare, require
from model.net.config import ModelConfig

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny random-weight checkpoint exported by the real CLI: (checkpoint path, out dir, exit code)."""
    root = tmp_path_factory.mktemp("onnx")
    checkpoint = make_random_checkpoint(root / "tiny.pt", ModelConfig.tiny(), seed=1)
    out = root / "out"
    code = main.main(["export", str(checkpoint), "--out", str(out)])
    return checkpoint, out, code


def torch_outputs(checkpoint_path, images: np.ndarray) -> dict:
    net = load_checkpoint(checkpoint_path).build_network()
    with torch.inference_mode():
        return {name: t.numpy() for name, t in net.infer_outputs(torch.from_numpy(images)).items()}


def test_export_writes_onnx_and_card_side_by_side(exported):
    checkpoint, out, code = exported
    assert code == 0
    card = read_card(out / "tiny.card.json")
    (onnx_artifact,) = [a for a in card.artifacts if a.kind == "onnx"]
    assert (out / onnx_artifact.file).is_file() and onnx_artifact.file == "tiny.onnx"
    assert onnx_artifact.opset == ONNX_OPSET and onnx_artifact.precision == "fp32"
    assert onnx_artifact.checkpoint_sha256 == card.checkpoint_sha256 == load_checkpoint(checkpoint).sha256
    assert onnx_artifact.parity["max_mm"] <= TOLERANCES["fp32"].mm
    assert (out / card.checkpoint_file).resolve() == checkpoint.resolve()
    assert card.input_size == 64 and card.num_joints == 17 and card.channel_order == "RGB"
    assert card.model_config["backbone"] == "resnet18"
    assert {"torch", "onnx", "onnxruntime"} <= set(card.exporter)


def test_onnx_graph_has_named_io_and_a_dynamic_batch(exported):
    _, out, _ = exported
    io = onnx_io(out / "tiny.onnx")
    assert io["inputs"] == [("images", ["batch", 3, 64, 64])]
    assert io["outputs"] == [("uvz", ["batch", 17, 3]), ("joints_3d", ["batch", 17, 3]),
                             ("joint_confidence", ["batch", 17])]
    assert io["opset"] == [ONNX_OPSET]


def test_person_head_and_confidences_are_exported_outputs_listed_in_the_card(tmp_path):
    checkpoint = make_random_checkpoint(tmp_path / "head.pt", ModelConfig.tiny().replace(person_head=8), seed=3)
    assert main.main(["export", str(checkpoint), "--out", str(tmp_path)]) == 0
    io = onnx_io(tmp_path / "head.onnx")
    assert io["outputs"][2:] == [("joint_confidence", ["batch", 17]), ("person_score", ["batch"])]
    card = read_card(tmp_path / "head.card.json")
    specs = {o.name: o for o in card.outputs}
    assert specs["joint_confidence"].shape == (-1, 17) and specs["person_score"].shape == (-1,)
    assert "[0, 1]" in specs["person_score"].units
    (artifact,) = card.artifacts
    assert artifact.parity["max_confidence"] <= TOLERANCES["fp32"].confidence
    images = np.random.default_rng(0).standard_normal((3, 3, 64, 64)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "head.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in card.outputs]
    got = dict(zip(names, session.run(names, {"images": images})))
    reference = torch_outputs(checkpoint, images)
    assert set(reference) == set(got)
    for name in ("joint_confidence", "person_score"):
        np.testing.assert_allclose(got[name], reference[name], atol=1e-4)
        assert ((got[name] >= 0) & (got[name] <= 1)).all()


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_onnxruntime_equals_pytorch(exported, batch):
    checkpoint, out, _ = exported
    images = np.random.default_rng(batch).standard_normal((batch, 3, 64, 64)).astype(np.float32)
    session = ort.InferenceSession(str(out / "tiny.onnx"), providers=["CPUExecutionProvider"])
    uvz, joints, confidence = session.run(["uvz", "joints_3d", "joint_confidence"], {"images": images})
    reference = torch_outputs(checkpoint, images)
    candidate = {"uvz": uvz, "joints_3d": joints, "joint_confidence": confidence}
    result = require(compare("tiny.onnx", "fp32", reference, candidate))
    assert result.batch == batch and result.max_mm <= 1.0 and result.max_px <= 0.1
    # The outputs carry information: the 2D points are not all at one place.
    assert np.ptp(uvz[..., :2]) > 1.0


def test_second_export_reuses_the_cached_onnx(exported, capsys):
    checkpoint, out, _ = exported
    before = (out / "tiny.onnx").stat().st_mtime_ns
    assert main.main(["export", str(checkpoint), "--out", str(out)]) == 0
    assert "up to date (cached" in capsys.readouterr().out
    assert (out / "tiny.onnx").stat().st_mtime_ns == before


def test_parity_above_tolerance_fails_loudly():
    rng = np.random.default_rng(0)
    reference = {"uvz": rng.normal(size=(2, 17, 3)), "joints_3d": rng.normal(size=(2, 17, 3))}
    shifted = {"uvz": reference["uvz"], "joints_3d": reference["joints_3d"] + np.array([3.0, 0.0, 0.0])}
    with pytest.raises(ParityError, match=r"max joint diff 3\.0000 mm.*FAILED"):
        require(compare("x.onnx", "fp32", reference, shifted))
    assert compare("x.engine", "fp16", reference, shifted).ok  # 3 mm is inside the fp16 tolerance


def test_export_fails_and_keeps_the_artifact_out_of_the_card_when_parity_fails(tmp_path, monkeypatch, capsys):
    import export.onnx_export as onnx_export

    checkpoint = make_random_checkpoint(tmp_path / "tiny.pt", ModelConfig.tiny(), seed=2)
    real_export = onnx_export.export_onnx

    def export_a_broken_graph(net, path, **kwargs):
        with torch.no_grad():
            net.lifting.out.bias[3:6].add_(0.05)  # +50 mm on x, y, z of joint 1 (the root is subtracted)
        return real_export(net, path, **kwargs)

    monkeypatch.setattr(onnx_export, "export_onnx", export_a_broken_graph)
    assert main.main(["export", str(checkpoint), "--out", str(tmp_path)]) == 1
    assert "FAILED" in capsys.readouterr().err
    assert [a for a in read_card(tmp_path / "tiny.card.json").artifacts if a.kind == "onnx"] == []


@pytest.mark.parametrize("content, message", [(None, "checkpoint not found"), (b"not a checkpoint", "not a readable PyTorch checkpoint")])
def test_bad_checkpoint_is_a_one_line_error(tmp_path, capsys, content, message):
    path = tmp_path / "broken.pt"
    if content is not None:
        path.write_bytes(content)
    assert main.main(["export", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and str(path) in err and len(err.splitlines()) == 1


def test_checkpoint_without_model_config_is_refused(tmp_path, capsys):
    path = tmp_path / "plain.pt"
    torch.save({"weights": {}}, path)
    assert main.main(["export", str(path)]) == 1
    assert "not a Cascade3D checkpoint" in capsys.readouterr().err


BUNDLED = sorted(ASSETS.glob("*.pt"))


def test_a_checkpoint_is_bundled():
    assert BUNDLED, "assets/*.pt is missing: the default weights ship with the project"


@pytest.mark.parametrize("checkpoint", BUNDLED, ids=lambda p: p.name)
def test_bundled_checkpoint_exports_with_parity(tmp_path, checkpoint):
    assert main.main(["export", str(checkpoint), "--out", str(tmp_path)]) == 0
    card = read_card(tmp_path / f"{checkpoint.stem}.card.json")
    (artifact,) = [a for a in card.artifacts if a.kind == "onnx"]
    assert artifact.parity["max_mm"] <= TOLERANCES["fp32"].mm and artifact.parity["max_px"] <= TOLERANCES["fp32"].px


def test_fp16_variant_keeps_float_io_and_passes_the_fp16_tolerance(exported, capsys):
    import onnx

    from app.engines import select_engine

    checkpoint, out, _ = exported
    assert main.main(["export", str(checkpoint), "--fp16", "--out", str(out)]) == 0
    assert "tiny.onnx is up to date" in capsys.readouterr().out  # the fp32 model is reused
    card = read_card(out / "tiny.card.json")
    fp16 = {a.precision: a for a in card.artifacts if a.kind == "onnx"}["fp16"]
    assert fp16.file == "tiny.fp16.onnx" and fp16.parity["tol_mm"] == TOLERANCES["fp16"].mm
    model = onnx.load(str(out / fp16.file))
    float16 = onnx.TensorProto.FLOAT16
    assert any(init.data_type == float16 for init in model.graph.initializer)  # the trunk is half precision
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for o in model.graph.output)
    # ONNX Runtime keeps using the fp32 model.
    engine = select_engine(out / "tiny.card.json", preference="onnxruntime-cpu")
    assert engine.model_path.name == "tiny.onnx"


def test_a_checkpoint_whose_outputs_are_not_finite_exports_nothing(tmp_path, capsys):
    """Its export failed parity but left an .onnx and a card that the app then ran, finding no one in any frame
    (one 'non-finite output' line per person and frame, exit 0; issue 26's doubtful list)."""
    path = make_random_checkpoint(tmp_path / "tiny.pt", ModelConfig.tiny(), seed=3)
    payload = torch.load(path, weights_only=False)
    next(t for t in payload["model"].values() if t.is_floating_point()).fill_(float("nan"))
    torch.save(payload, path)
    out = tmp_path / "out"
    assert main.main(["export", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and "not finite" in err, err
    assert list(out.iterdir()) == []


def test_a_blazepose_checkpoint_exports_with_parity_and_a_card(tmp_path):
    """The BlazePose backbone (model/net/blazepose.py: a replayed tflite graph) traces into ONNX like the others,
    and ONNX Runtime equals PyTorch on it within the fp32 tolerance (128 px keeps the test short)."""
    cfg = ModelConfig.blazepose().replace(input_size=128)
    checkpoint = make_random_checkpoint(tmp_path / "blazepose.pt", cfg, seed=4)
    assert main.main(["export", str(checkpoint), "--out", str(tmp_path)]) == 0
    card = read_card(tmp_path / "blazepose.card.json")
    assert card.input_size == 128 and card.model_config["backbone"] == "blazepose"
    (artifact,) = [a for a in card.artifacts if a.kind == "onnx"]
    assert artifact.parity["max_mm"] <= TOLERANCES["fp32"].mm and artifact.parity["max_px"] <= TOLERANCES["fp32"].px


def test_conv_channels_are_aligned_without_changing_the_output(tmp_path):
    """Two 20-channel convs on one tensor (as where the cascade concatenates features and heatmaps) get zero
    channels up to 32 from one shared Pad; a 16-channel one and a depthwise one are left alone; ONNX Runtime
    gives the same output either way."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = {"w20": rng.normal(size=(8, 20, 3, 3)), "w20b": rng.normal(size=(4, 20, 1, 1)), "w16": rng.normal(size=(16, 16, 1, 1)), "wdw": rng.normal(size=(16, 1, 3, 3))}
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w20"], ["a"], name="c20", pads=[1, 1, 1, 1]),
         helper.make_node("Conv", ["x", "w20b"], ["d"], name="c20b"),
         helper.make_node("Conv", ["y", "w16"], ["b"], name="c16"),
         helper.make_node("Conv", ["b", "wdw"], ["c"], name="dw", group=16, pads=[1, 1, 1, 1])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 6, 6]),
              helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 6, 6])],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 8, 6, 6]), helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 16, 6, 6]),
         helper.make_tensor_value_info("d", TensorProto.FLOAT, [1, 4, 6, 6])],
        [numpy_helper.from_array(w.astype(np.float32), name) for name, w in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    feeds = {"x": rng.normal(size=(1, 20, 6, 6)).astype(np.float32), "y": rng.normal(size=(1, 16, 6, 6)).astype(np.float32)}
    before = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    assert align_conv_channels(model) == 2
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node].count("Pad") == 1
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    assert shapes["w20"] == (8, 32, 3, 3) and shapes["w20b"] == (4, 32, 1, 1) and shapes["w16"] == (16, 16, 1, 1) and shapes["wdw"] == (16, 1, 3, 3)
    after = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    for b, a in zip(before, after):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
