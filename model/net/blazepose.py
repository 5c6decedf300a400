"""BlazePose GHUM full (MediaPipe's pose_landmark_full.tflite) rebuilt as a trainable PyTorch module.

The network is read from the mediapipe==0.10.14 wheel (Apache-2.0, installed with requirements.txt; no
download) with the `tflite` package by walking its op list: every CONV_2D / DEPTHWISE_CONV_2D becomes a
real nn.Conv2d holding the (fp16-stored, dequantised) weights, and forward() replays the graph op by op
(PAD, RESIZE_BILINEAR, MAX_POOL_2D, ADD, RESHAPE, LOGISTIC; fused ReLU / ReLU6 as the file says).
Once built, the weights live in our state dict (and so in our checkpoints). The graph's structure alone (ops,
conv shapes, tensor ids; 13 kB) is committed beside this module as blazepose_graph.json, so a checkpoint
rebuilds the network with `BlazePose(read_structure())` and its own weights, without the wheel or `tflite`;
`python -m model.net.blazepose --write-graph` rewrites that file from the wheel's tflite, and
tests/model/net/test_blazepose.py checks that it still equals the tflite's graph.

Layout: PyTorch NCHW. The tflite works in NHWC: input (1, 256, 256, 3) RGB in [0, 1] here is
(B, 3, 256, 256); its CONV_2D weights OHWI become OIHW, DEPTHWISE 1HWC becomes (C, 1, H, W).
Outputs at 256 px (BlazePoseOutput): landmarks (B, 195), presence (B, 1) in [0, 1], segmentation logits
(B, 1, 256, 256), heatmaps (B, 39, 64, 64) and world landmarks (B, 117); `features` is the stride-4 map
(B, 48, 64, 64) the heatmap's 1x1 conv reads. The stride-4 branch (features, heatmaps) is fully
convolutional and runs at any side divisible by 32; the landmark, presence and world outputs need 256.
"""

import argparse
import importlib.util
import json
import os
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

GRAPH_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "blazepose_graph.json")
INPUT_SIZE = 256  # the side the tflite was built for
HEATMAP_CHANNELS = 39  # 33 landmarks + 6 auxiliary points
FEATURE_CHANNELS = 48  # width of the stride-4 map that feeds the heatmap conv
TAP_CHANNELS = (144, 48)  # widths of BlazePoseOutput.taps: the encoder's stride-32 output, the decoder at stride 8
STRIDE = 4  # input px per heatmap px

# Output tensor names in the tflite, by role.
OUTPUT_TENSORS = {
    "landmarks": "Identity",
    "presence": "Identity_1",
    "segmentation": "Identity_2",
    "heatmaps": "Identity_3",
    "world_landmarks": "Identity_4",
}

# The 17 Human3.6M joints (model.net.skeleton order) as BlazePose landmarks: a joint between several
# landmarks is their mean (as model/data/teacher/blazepose.py maps the teacher's landmarks); the head top,
# which BlazePose lacks, starts at the ears' midpoint.
H36M_FROM_LANDMARKS: tuple[tuple[int, ...], ...] = (
    (23, 24), (24,), (26,), (28,), (23,), (25,), (27,), (11, 12, 23, 24), (11, 12), (0,), (7, 8),
    (11,), (13,), (15,), (12,), (14,), (16,),
)

# tflite ActivationFunctionType -> the op that applies it (0 NONE, 1 RELU, 3 RELU6).
_ACTIVATIONS = {0: None, 1: F.relu, 3: F.relu6}


def tflite_path() -> str:
    """The landmark model inside the installed mediapipe wheel (found without importing mediapipe: seconds)."""
    spec = importlib.util.find_spec("mediapipe")
    folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else ""
    path = os.path.join(folder, "modules", "pose_landmark", "pose_landmark_full.tflite")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: not found; BlazePose weights come from mediapipe==0.10.14 (requirements.txt)")
    return path


@dataclass(frozen=True)
class Op:
    """One graph step. kind: 'conv' (index into BlazePose.convs), 'pad', 'resize', 'maxpool', 'add', 'reshape',
    'sigmoid'. inputs/output: tensor ids of the tflite. act: fused activation code. same: TF 'SAME' padding
    (else 'VALID'). arg: pad amounts (top, bottom, left, right) for 'pad', scale for 'resize', kernel for 'maxpool'."""

    kind: str
    inputs: tuple[int, ...]
    output: int
    act: int = 0
    same: bool = False
    stride: int = 1
    arg: tuple[int, ...] = ()
    conv: int = -1


@dataclass(frozen=True, eq=False)
class Graph:
    """The op list of the tflite and its convs' shapes, with or without their weights, ready to build BlazePose.

    convs: per conv op (weight shape OIHW or (C, 1, kh, kw), groups); its bias has the weight's first size.
    input_id: the image tensor's id; outputs: role -> tensor id (OUTPUT_TENSORS); features_id: the stride-4 map.
    weights: per conv (weight, bias) float32 ndarrays of those shapes, or () for the structure alone."""

    ops: tuple[Op, ...]
    convs: tuple[tuple[tuple[int, ...], int], ...]
    input_id: int
    outputs: dict
    features_id: int
    weights: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


def read_graph(path: str = "") -> Graph:
    """Walk the tflite op list (fp16 constants behind DEQUANTIZE are read as float32)."""
    import tflite

    path = path or tflite_path()
    with open(path, "rb") as f:
        buf = f.read()
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    op_names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    kinds = [op_names[max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())]
             for i in range(model.OperatorCodesLength())]

    def constant(tid: int) -> np.ndarray:
        t = graph.Tensors(tid)
        dtype = {tflite.TensorType.FLOAT16: np.float16, tflite.TensorType.FLOAT32: np.float32,
                 tflite.TensorType.INT32: np.int32}[t.Type()]
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(t.ShapeAsNumpy())

    dequantized = {}  # DEQUANTIZE output id -> its fp16 input's id
    ops, convs, weights = [], [], []
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        kind = kinds[op.OpcodeIndex()]
        ins = tuple(int(op.Inputs(i)) for i in range(op.InputsLength()))
        out = int(op.Outputs(0))
        if kind == "DEQUANTIZE":
            dequantized[out] = ins[0]
            continue
        weight = lambda tid: constant(dequantized.get(tid, tid)).astype(np.float32)  # noqa: E731
        opts = op.BuiltinOptions()
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            o = tflite.Conv2DOptions() if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            assert o.StrideH() == o.StrideW() and o.DilationHFactor() == o.DilationWFactor() == 1
            w, b = weight(ins[1]), weight(ins[2])
            if kind == "CONV_2D":  # OHWI -> OIHW
                w, groups = np.ascontiguousarray(w.transpose(0, 3, 1, 2)), 1
            else:  # 1HWC -> (C, 1, H, W), depth multiplier 1
                assert o.DepthMultiplier() == 1
                w, groups = np.ascontiguousarray(w.transpose(3, 0, 1, 2)), w.shape[3]
            assert b.shape == w.shape[:1]
            convs.append((tuple(int(n) for n in w.shape), int(groups)))
            weights.append((w, b))
            ops.append(Op("conv", ins[:1], out, o.FusedActivationFunction(), o.Padding() == tflite.Padding.SAME,
                          o.StrideH(), conv=len(convs) - 1))
        elif kind == "PAD":
            pads = constant(ins[1])  # NHWC rows of (before, after)
            assert not pads[0].any() and not pads[3].any()
            ops.append(Op("pad", ins[:1], out, arg=(int(pads[1, 0]), int(pads[1, 1]), int(pads[2, 0]), int(pads[2, 1]))))
        elif kind == "RESIZE_BILINEAR":
            o = tflite.ResizeBilinearOptions()
            o.Init(opts.Bytes, opts.Pos)
            assert o.HalfPixelCenters() and not o.AlignCorners()  # = F.interpolate(align_corners=False)
            scale = int(constant(ins[1])[0]) // int(graph.Tensors(ins[0]).ShapeAsNumpy()[1])
            ops.append(Op("resize", ins[:1], out, arg=(scale,)))
        elif kind == "MAX_POOL_2D":
            o = tflite.Pool2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            assert o.Padding() == tflite.Padding.VALID and o.FusedActivationFunction() == 0
            ops.append(Op("maxpool", ins, out, stride=o.StrideH(), arg=(o.FilterHeight(), o.FilterWidth())))
        elif kind == "ADD":
            o = tflite.AddOptions()
            o.Init(opts.Bytes, opts.Pos)
            ops.append(Op("add", ins, out, o.FusedActivationFunction()))
        elif kind == "RESHAPE":
            ops.append(Op("reshape", ins[:1], out))
        elif kind == "LOGISTIC":
            ops.append(Op("sigmoid", ins, out))
        else:
            raise ValueError(f"{path}: op {kind} is not supported by model/net/blazepose.py")
    names = {graph.Tensors(i).Name().decode(): i for i in range(graph.TensorsLength())}
    outputs = {role: names[name] for role, name in OUTPUT_TENSORS.items()}
    heatmap_op = next(op for op in ops if op.output == outputs["heatmaps"])
    return Graph(tuple(ops), tuple(convs), int(graph.Inputs(0)), outputs, heatmap_op.inputs[0], tuple(weights))


def _op_row(op: Op) -> dict:
    """An op as a JSON object; fields at their default are left out."""
    row = {}
    for f in fields(Op):
        value = getattr(op, f.name)
        if value != f.default:
            row[f.name] = list(value) if isinstance(value, tuple) else value
    return row


def _rows(items: list[dict]) -> str:
    return ",\n".join("  " + json.dumps(item, separators=(",", ":")) for item in items)


def structure_json(graph: Graph) -> str:
    """The graph without its weights as JSON text, one line per conv and per op (diffs stay readable)."""
    ops = [_op_row(op) for op in graph.ops]
    convs = [{"weight": list(shape), "groups": groups} for shape, groups in graph.convs]
    head = {"source": "mediapipe==0.10.14 modules/pose_landmark/pose_landmark_full.tflite; written by "
                      "`python -m model.net.blazepose --write-graph`",
            "input_id": graph.input_id, "features_id": graph.features_id, "outputs": graph.outputs}
    lines = [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    return "{\n" + "\n".join(lines) + f'\n "convs": [\n{_rows(convs)}\n ],\n "ops": [\n{_rows(ops)}\n ]\n}}\n'


def write_structure(path: str = GRAPH_FILE, tflite: str = "") -> str:
    """Write the structure of the tflite (the wheel's, or `tflite`) to `path` (structure_json); returns `path`."""
    from model.atomic import atomic_write_text

    atomic_write_text(path, structure_json(read_graph(tflite)))
    return path


def read_structure(path: str = GRAPH_FILE) -> Graph:
    """The committed graph without weights (write_structure's file), for networks whose weights a checkpoint gives."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        ops = tuple(Op(**{k: tuple(v) if isinstance(v, list) else v for k, v in op.items()}) for op in data["ops"])
        convs = tuple((tuple(c["weight"]), c["groups"]) for c in data["convs"])
        return Graph(ops, convs, data["input_id"], data["outputs"], data["features_id"])
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: BlazePose graph file not found; "
                                "`python -m model.net.blazepose --write-graph` writes it") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a BlazePose graph file ({e.__class__.__name__}: {e})") from None


class BlazePoseOutput(NamedTuple):
    """What forward() computed, NCHW; None for what was not asked (see BlazePose.forward)."""

    features: torch.Tensor  # (B, 48, S/4, S/4) stride-4 features that feed the heatmap conv
    heatmaps: torch.Tensor  # (B, 39, S/4, S/4) raw heatmap conv output (no activation), landmark order
    landmarks: torch.Tensor | None = None  # (B, 195): 39 x (x, y, z, visibility, presence) raw, crop px at 256
    presence: torch.Tensor | None = None  # (B, 1) sigmoid "a pose is present"
    segmentation: torch.Tensor | None = None  # (B, 1, S, S) segmentation logits
    world_landmarks: torch.Tensor | None = None  # (B, 117): 39 x (x, y, z) metres, hip-centred
    taps: tuple[torch.Tensor, ...] = ()  # (B, 144, S/32, S/32) encoder output, (B, 48, S/8, S/8) decoder (TAP_CHANNELS)


class BlazePose(nn.Module):
    """The tflite graph with trainable convs. forward(images (B, 3, S, S) RGB in [0, 1], everything=False).
    Built from a structure-only graph (read_structure), its convs start from PyTorch's random initialisation.

    everything=False runs only the stride-4 branch (features, heatmaps), any S divisible by 32;
    everything=True (S = 256) also the landmark, presence, world and segmentation heads.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.ops = graph.ops
        self.input_id = graph.input_id
        self.outputs = dict(graph.outputs)
        self.features_id = graph.features_id
        self.convs = nn.ModuleList()
        # skip_init: no random initialisation of weights overwritten at once by the graph's; a structure-only
        # graph's convs get PyTorch's (finite, random: 15 ms) until a checkpoint's weights are loaded.
        for shape, groups in graph.convs:
            sizes = (shape[1] * groups, shape[0], tuple(shape[2:]))
            if graph.weights:
                self.convs.append(nn.utils.skip_init(nn.Conv2d, *sizes, groups=groups))
            else:
                self.convs.append(nn.Conv2d(*sizes, groups=groups))
        if graph.weights:
            with torch.no_grad():
                for conv, (w, b) in zip(self.convs, graph.weights, strict=True):
                    conv.weight.copy_(torch.from_numpy(w))
                    conv.bias.copy_(torch.from_numpy(b))
        wanted = {self.outputs["heatmaps"], self.features_id}
        self._branch = self._needed(wanted)  # the ops the stride-4 branch needs, in graph order
        # Deeper maps of that branch (computed anyway): the last residual sum before the decoder's first
        # upsampling (the encoder's output) and the input of its last upsampling (stride 8).
        resizes = [i for i, op in enumerate(self._branch) if op.kind == "resize"]
        encoder = [op.output for op in self._branch[:resizes[0]] if op.kind == "add"][-1]
        self.tap_ids = (encoder, self._branch[resizes[-1]].inputs[0])
        self.out_channels = FEATURE_CHANNELS

    def _needed(self, tensors: set[int]) -> tuple[Op, ...]:
        need, keep = set(tensors), []
        for op in reversed(self.ops):
            if op.output in need:
                keep.append(op)
                need.update(op.inputs)
        return tuple(reversed(keep))

    def _run(self, op: Op, x: list[torch.Tensor]) -> torch.Tensor:
        if op.kind == "conv":
            conv = self.convs[op.conv]
            y, padding = x[0], (0, 0)
            if op.same:  # TF 'SAME': total padding k - 1 at stride 1; at stride 2 the extra pixel goes after
                # Python ints, not traced sizes: an exported graph then carries constant pads instead of
                # ~1,400 shape-arithmetic nodes per run (the crop size is fixed by the model card).
                height, width = int(y.shape[2]), int(y.shape[3])
                kh, kw = conv.kernel_size
                ph = max((-(-height // op.stride) - 1) * op.stride + kh - height, 0)
                pw = max((-(-width // op.stride) - 1) * op.stride + kw - width, 0)
                if ph % 2 == 0 and pw % 2 == 0:  # symmetric: the conv pads itself, no separate Pad op
                    padding = (ph // 2, pw // 2)
                else:
                    y = F.pad(y, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            y = F.conv2d(y, conv.weight, conv.bias, op.stride, padding, 1, conv.groups)
        elif op.kind == "pad":
            top, bottom, left, right = op.arg
            y = F.pad(x[0], (left, right, top, bottom))
        elif op.kind == "resize":
            y = F.interpolate(x[0], scale_factor=op.arg[0], mode="bilinear", align_corners=False)
        elif op.kind == "maxpool":
            y = F.max_pool2d(x[0], op.arg, op.stride)
        elif op.kind == "add":
            y = x[0] + x[1]
        elif op.kind == "reshape":
            y = x[0].flatten(1)
        else:
            y = torch.sigmoid(x[0])
        act = _ACTIVATIONS[op.act]
        return y if act is None else act(y)

    def forward(self, images: torch.Tensor, everything: bool = False) -> BlazePoseOutput:
        tensors = {self.input_id: images}
        for op in self.ops if everything else self._branch:
            tensors[op.output] = self._run(op, [tensors[i] for i in op.inputs])
        pick = lambda role: tensors.get(self.outputs[role])  # noqa: E731
        return BlazePoseOutput(tensors[self.features_id], pick("heatmaps"), pick("landmarks"), pick("presence"),
                               pick("segmentation"), pick("world_landmarks"), tuple(tensors[t] for t in self.tap_ids))


def load_blazepose(path: str = "") -> BlazePose:
    """BlazePose with the weights of the installed wheel's tflite (or the tflite at `path`)."""
    return BlazePose(read_graph(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Rewrite the committed BlazePose graph structure from the wheel's tflite.")
    p.add_argument("--write-graph", action="store_true", help=f"write {os.path.relpath(GRAPH_FILE)}")
    p.add_argument("--tflite", default="", help="the tflite to read (default: the installed mediapipe wheel's)")
    args = p.parse_args(argv)
    if not args.write_graph:
        p.error("nothing to do: pass --write-graph")
    path = write_structure(GRAPH_FILE, args.tflite)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
