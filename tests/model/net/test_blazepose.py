"""BlazePose rebuilt in PyTorch (model/net/blazepose.py) equals the tflite in the mediapipe wheel, run by the TFLite
interpreter, on real crops of the bundled clip cut as the app cuts them; its committed graph structure equals the
tflite's, and checkpoints load from it without the wheel; and its place in the cascade."""

import os
import sys
import time

import cv2
import numpy as np
import pytest
import torch

from model.net import blazepose
from model.net.blazepose import (GRAPH_FILE, BlazePose, H36M_FROM_LANDMARKS, load_blazepose, read_graph, read_structure,
                                 structure_json, tflite_path)
from model.net.checkpoint import load_checkpoint
from model.net.config import ModelConfig
from model.net.crop import CropSpec, cut_crops
from model.net.network import CascadeNet

ASSETS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "assets")
SAMPLE = os.path.join(ASSETS, "sample_two_people.mp4")
SHIPPED = os.path.join(ASSETS, "cascade_blazepose.pt")  # the committed default weights (blazepose backbone)
# Frame 75 of the bundled clip: the man on the treadmill, the woman in front, the person far in the background.
BOXES = np.array([[190, 230, 430, 660], [230, 390, 450, 890], [0, 130, 70, 390]], dtype=np.float64)
# BlazePose's own input: 256 px, RGB in [0, 1] (no mean, no std), cut with the app's 1.25 padding.
SPEC = CropSpec(256, "RGB", 255.0, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), 1.25, 1.0)


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """(3, 3, 256, 256) float32 crops of frame 75 (real OpenCV decode)."""
    cap = cv2.VideoCapture(SAMPLE)
    cap.set(cv2.CAP_PROP_POS_FRAMES, 75)
    ok, frame = cap.read()
    cap.release()
    assert ok, SAMPLE
    return cut_crops(frame, BOXES, SPEC).images


@pytest.fixture(scope="module")
def net() -> BlazePose:
    return load_blazepose().eval()


def _reference(crops: np.ndarray) -> list[dict[str, np.ndarray]]:
    """The tflite's outputs per crop (NHWC in, by output name), from the TFLite interpreter (ai-edge-litert)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=tflite_path(), num_threads=1)
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    results = []
    for crop in crops:
        interpreter.set_tensor(inp["index"], np.ascontiguousarray(crop.transpose(1, 2, 0))[None])
        interpreter.invoke()
        results.append({d["name"]: interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()})
    return results


def test_the_graph_is_the_documented_one() -> None:
    graph = read_graph()
    kinds = [op.kind for op in graph.ops]
    # Counts from the file (NOTES.md, 2026-12-07): 58 CONV_2D + 38 DEPTHWISE_CONV_2D, 28 ADD, 5 PAD, 5 RESIZE, 2 MAX_POOL.
    assert len(graph.convs) == 96 and kinds.count("add") == 28 and kinds.count("pad") == 5
    assert kinds.count("resize") == 5 and kinds.count("maxpool") == 2 and kinds.count("reshape") == 3
    assert sum(w.size + b.size for w, b in graph.weights) == 3_169_489  # every weight of the file but 32 padding ints
    assert [(w.shape, b.shape) for w, b in graph.weights] == [(shape, shape[:1]) for shape, _ in graph.convs]
    assert all(isinstance(c, torch.nn.Conv2d) and c.weight.requires_grad for c in BlazePose(graph).convs)


def test_the_committed_structure_is_the_tflites() -> None:
    """model/net/blazepose_graph.json, which checkpoints build from, is the wheel's graph: same ops, conv shapes and
    groups, tensor ids; and it is the file `python -m model.net.blazepose --write-graph` writes now, byte for byte."""
    graph, committed = read_graph(), read_structure()
    assert committed.ops == graph.ops and committed.convs == graph.convs and committed.weights == ()
    assert (committed.input_id, committed.outputs, committed.features_id) == (graph.input_id, graph.outputs,
                                                                              graph.features_id)
    with open(GRAPH_FILE, encoding="utf-8") as f:
        assert f.read() == structure_json(graph), f"{GRAPH_FILE} is stale: python -m model.net.blazepose --write-graph"
    assert os.path.getsize(GRAPH_FILE) < 32_000
    shapes = lambda net: {k: v.shape for k, v in net.state_dict().items()}  # noqa: E731
    assert shapes(BlazePose(committed)) == shapes(BlazePose(graph))


def test_a_checkpoint_loads_without_the_wheel_or_tflite(monkeypatch: pytest.MonkeyPatch, crops: np.ndarray) -> None:
    """The shipped weights load through load_checkpoint with `import tflite` failing and the wheel's tflite missing,
    and compute exactly what the same weights compute in a network built from the tflite (timings printed: -s)."""
    ckpt = load_checkpoint(SHIPPED)
    assert ckpt.config.backbone == "blazepose"
    size = ckpt.config.input_size
    x01 = torch.nn.functional.interpolate(torch.from_numpy(crops), size=(size, size), mode="bilinear",
                                          align_corners=False, antialias=True)
    mean, std = torch.tensor(ckpt.config.pixel_mean)[:, None, None], torch.tensor(ckpt.config.pixel_std)[:, None, None]
    images = (x01 - mean) / std

    start = time.perf_counter()
    from_tflite = CascadeNet(ckpt.config.replace(pretrained=True))
    from_tflite.load_state_dict(ckpt.state_dict)
    tflite_s = time.perf_counter() - start

    def unavailable(*_args, **_kwargs):
        raise AssertionError("a checkpoint's network must not read the tflite")

    monkeypatch.setitem(sys.modules, "tflite", None)  # `import tflite` raises ImportError
    monkeypatch.setattr(blazepose, "read_graph", unavailable)
    monkeypatch.setattr(blazepose, "tflite_path", unavailable)
    ckpt = load_checkpoint(SHIPPED)
    start = time.perf_counter()
    net = ckpt.build_network()
    print(f"network of {os.path.basename(SHIPPED)}: built in {tflite_s:.2f} s from the tflite, "
          f"{time.perf_counter() - start:.2f} s from {os.path.basename(GRAPH_FILE)}")
    with torch.no_grad():
        ours, theirs = net.infer_outputs(images), from_tflite.eval().infer_outputs(images)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours), [k for k in ours if not torch.equal(ours[k], theirs[k])]


def test_outputs_equal_the_tflite_on_real_crops(net: BlazePose, crops: np.ndarray) -> None:
    """Both run float32 on the same fp16-stored weights, so only summation order differs. Measured 2026-12-07
    (max |difference| / max |reference value| over the 3 crops): landmarks 3e-6, heatmaps 4e-6, world 7e-6,
    presence 3e-5, segmentation 4e-4; the bound, 2e-3 of the output's range, is about fp16's resolution
    (5x the worst measured)."""
    reference = _reference(crops)
    with torch.no_grad():
        out = net(torch.from_numpy(crops), everything=True)
    ours = {"Identity": out.landmarks, "Identity_1": out.presence, "Identity_4": out.world_landmarks,
            "Identity_2": out.segmentation.permute(0, 2, 3, 1), "Identity_3": out.heatmaps.permute(0, 2, 3, 1)}
    for i, ref in enumerate(reference):
        for name, value in ours.items():
            mine, theirs = value[i].numpy(), ref[name][0]
            assert mine.shape == theirs.shape, (name, mine.shape, theirs.shape)
            err = np.abs(mine - theirs).max() / max(np.abs(theirs).max(), 1e-6)
            assert err < 2e-3, f"crop {i} {name}: relative error {err:.2e}"
        # Where it matters most: each heatmap channel peaks at the same cell.
        heat = ours["Identity_3"][i].numpy().reshape(-1, 39).argmax(0)
        assert np.array_equal(heat, ref["Identity_3"][0].reshape(-1, 39).argmax(0)), f"crop {i}: heatmap peaks differ"
    # The woman in front is found (presence measured 0.9996, as the tflite's); the man bent over behind her is
    # not (0.009, the tflite's too): BlazePose knows upright, unoccluded people best.
    assert out.presence[1, 0] > 0.9, out.presence[:, 0]


def test_the_stride_4_branch_alone_is_the_same_and_size_free(net: BlazePose, crops: np.ndarray) -> None:
    x = torch.from_numpy(crops[:1])
    with torch.no_grad():
        full, branch = net(x, everything=True), net(x)
        small = net(torch.nn.functional.interpolate(x, size=(192, 192), mode="bilinear", align_corners=False))
    assert branch.landmarks is None and torch.equal(branch.heatmaps, full.heatmaps)
    assert branch.features.shape == (1, 48, 64, 64) and small.heatmaps.shape == (1, 39, 48, 48)


def test_the_cascade_starts_from_blazeposes_own_joints(crops: np.ndarray) -> None:
    """ModelConfig.blazepose() network, untrained heads: its 2D joints come from BlazePose's heatmaps
    (CascadeNet.start_from_heatmaps), so on the woman's crop they lie near the heatmap peaks. Measured 2026-12-07:
    median 2.1 px off the (stride-4) peak at 192 px (the heads sit at stride 8), worst 12.8 px (the spine: a
    mean of four landmarks' logits, to be learned); bounds 6 / 20 px, about 3x and 1.5x those."""
    cfg = ModelConfig.blazepose()
    net = CascadeNet(cfg).eval()
    size = cfg.input_size
    x01 = torch.nn.functional.interpolate(torch.from_numpy(crops[1:2]), size=(size, size), mode="bilinear",
                                          align_corners=False, antialias=True)
    mean, std = torch.tensor(cfg.pixel_mean)[:, None, None], torch.tensor(cfg.pixel_std)[:, None, None]
    with torch.no_grad():
        uvz, joints_3d = net.infer((x01 - mean) / std)
        heat = net.backbone.net(x01).heatmaps[0]
    peaks = []
    for landmarks in H36M_FROM_LANDMARKS:
        cells = [divmod(int(heat[k].argmax()), heat.shape[-1]) for k in landmarks]
        peaks.append(np.mean([((c + 0.5) * 4 - 0.5, (r + 0.5) * 4 - 0.5) for r, c in cells], axis=0))
    err = np.linalg.norm(uvz[0, :, :2].numpy() - np.array(peaks), axis=1)
    assert np.median(err) < 6 and err.max() < 20, err.round(1)
    assert torch.isfinite(joints_3d).all()


def test_the_person_heads_deeper_maps_come_from_the_same_pass() -> None:
    """BlazePoseOutput.taps: the encoder's output (stride 32) and the decoder's stride-8 map, of TAP_CHANNELS
    widths, computed by the stride-4 branch itself (so the person head's extra inputs cost no extra convs); a
    ModelConfig.blazepose() network (person_taps) pools them with the stride-4 features."""
    net = BlazePose(read_structure()).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 160, 160))
    assert [tuple(t.shape) for t in out.taps] == [(2, blazepose.TAP_CHANNELS[0], 5, 5), (2, blazepose.TAP_CHANNELS[1], 20, 20)]
    assert all(t in {op.output for op in net._branch} for t in net.tap_ids)
    cfg = ModelConfig.blazepose().replace(pretrained=False, input_size=160)
    cascade = CascadeNet(cfg).eval()
    assert cfg.person_taps and cascade.person_head.in_channels == 48 + 39 + sum(blazepose.TAP_CHANNELS)
    with torch.no_grad():
        x = torch.randn(2, 3, 160, 160)
        features, taps = cascade.backbone_outputs(x)
        assert torch.equal(features, cascade.backbone(x)) and len(taps) == 2
        assert torch.equal(cascade(x).person_logit, cascade.person_head(features, taps))
    with pytest.raises(AssertionError, match="person_taps"):
        ModelConfig(person_head=8, person_taps=True)  # a ResNet has no such maps
