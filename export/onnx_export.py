"""CascadeNet -> ONNX with a dynamic batch axis (opset 17), written atomically and checked by onnx.

Opset 17 because it is the newest opset every consumer we target parses: ONNX Runtime 1.x and
TensorRT 8.6 / 10.x's ONNX parser (older TensorRT releases stop at 17). The export uses PyTorch's
TorchScript-based exporter (dynamo=False), which needs no onnxscript package; the network's
infer() returns plain tensors, so tracing captures it whole.

fp16 variant (precision='fp16', for TensorRT): the convolutional part runs in half precision, while
the soft-argmax over the C x H x W volume and the lifting MLP stay float32 (a softmax over ~10^5
cells summed in fp16 loses too much); inputs and outputs stay float32. The precisions are explicit
in the graph, which is what TensorRT's strongly typed networks (the only kind in TensorRT 11) need.

Graph I/O:
  images    float32 (batch, 3, S, S)  normalised crops (see the model card)
  uvz       float32 (batch, J, 3)     u, v crop px; z root-relative mm
  joints_3d float32 (batch, J, 3)     root-relative mm, camera axes
  joint_confidence float32 (batch, J) peak mass of each joint's 2D heatmap, [0, 1] (model/net/confidence.py)
  person_score     float32 (batch,)   probability that the crop holds a person, [0, 1]; only for a
                                      network with a person head (ModelConfig.person_head > 0)
"""

import copy
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from model.atomic import atomic_path
from model.net.network import CascadeNet, InferenceWrapper

ONNX_OPSET = 17
CHANNEL_BLOCK = 16  # ONNX Runtime's NCHWc block on AVX-512 machines (8 on AVX2 ones divides it)
INPUT_NAME = "images"
OUTPUT_NAMES = ("uvz", "joints_3d")  # the outputs every exported network has; net.output_names lists all of them


def export_onnx(
    net: CascadeNet, path: str | os.PathLike, opset: int = ONNX_OPSET, metadata: dict[str, str] | None = None,
    precision: str = "fp32",
) -> Path:
    """Export `net` (eval mode, on the CPU) to `path` in 'fp32' or mixed 'fp16'; returns the path.

    The example batch is 2 so that no dimension of size 1 gets folded into a constant; the batch
    axis of the input and both outputs is named 'batch' and left dynamic. `metadata` goes into the
    ONNX model's metadata_props (e.g. the checkpoint hash), readable by any ONNX tool.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = net.cfg.input_size
    net = net.eval().cpu()
    wrapper = InferenceWrapper(net).eval() if precision == "fp32" else _HalfInference(net)
    example = torch.zeros(2, 3, size, size)
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            # The legacy exporter warns that it is legacy, and the tracer about shape asserts.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper, (example,), str(tmp), dynamo=False, opset_version=opset,
                input_names=[INPUT_NAME], output_names=list(net.output_names),
                dynamic_axes={name: {0: "batch"} for name in (INPUT_NAME, *net.output_names)},
                do_constant_folding=True,
            )
        model = onnx.load(str(tmp))
        _fix_output_dims(model, output_dims(net))
        align_conv_channels(model)
        if metadata:
            onnx.helper.set_model_props(model, {str(k): str(v) for k, v in metadata.items()})
        onnx.checker.check_model(model)
        onnx.save(model, str(tmp))
    return path


class _HalfInference(torch.nn.Module):
    """float32 images -> half-precision convolutional trunk -> float32 soft-argmax and lifting."""

    def __init__(self, net: CascadeNet) -> None:
        super().__init__()
        missing = [name for name in ("volume", "lifting") if not hasattr(net, name)]
        assert not missing, f"CascadeNet lacks {missing}: update export/onnx_export.py's fp16 split"
        self.net = copy.deepcopy(net).half()
        self.net.lifting.float()
        # The per-joint volume logits leave the fp16 trunk here, before the softmax.
        self.net.volume.register_forward_hook(lambda _module, _inputs, logits: logits.float())

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t.float() for t in self.net.infer_outputs(images.half()).values())


def output_dims(net: CascadeNet) -> dict[str, tuple[int, ...]]:
    """The trailing (non-batch) dims of each output of `net`'s exported graph."""
    j = net.cfg.num_joints
    dims = {"uvz": (j, 3), "joints_3d": (j, 3), "joint_confidence": (j,), "person_score": ()}
    return {name: dims[name] for name in net.output_names}


def _fix_output_dims(model: onnx.ModelProto, dims_by_name: dict[str, tuple[int, ...]]) -> None:
    """Write the known trailing output dims into the graph: the tracer leaves them symbolic
    (they come out of a reshape with -1), and consumers such as TensorRT read them from here."""
    for output in model.graph.output:
        dims = dims_by_name[output.name]
        shape = output.type.tensor_type.shape.dim
        assert len(shape) == 1 + len(dims), f"{output.name}: unexpected rank {len(shape)}"
        for dim, value in zip(shape[1:], dims):
            dim.Clear()
            dim.dim_value = value


def align_conv_channels(model: onnx.ModelProto, block: int = CHANNEL_BLOCK) -> int:
    """Zero-pad the input channels of every dense Conv whose count is not a multiple of `block` (a Pad on
    the activation, zero weights for the new channels): the same output, but ONNX Runtime's CPU provider
    runs such convs in its blocked NCHWc layout with BN + ReLU fused, which it cannot for, e.g., the 87, 103
    and 119 channels where the cascade concatenates features and heatmaps (measured 2026-12-07, blazepose
    card at 192 px, 1 thread: 8.4 -> 7.6 ms of kernel time per crop). Returns how many convs it padded."""
    weights = {tensor.name: tensor for tensor in model.graph.initializer}
    nodes, padded = [], 0
    aligned = {}  # input tensor -> its padded copy: convs reading the same tensor share one Pad
    for node in model.graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "Conv" and len(node.input) > 1 else None
        group = next((onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1)
        if weight is not None and group == 1 and len(weight.dims) == 4 and weight.dims[1] > block and weight.dims[1] % block:
            w = onnx.numpy_helper.to_array(weight)
            extra = block - w.shape[1] % block
            w = np.concatenate([w, np.zeros((w.shape[0], extra, *w.shape[2:]), w.dtype)], axis=1)
            weight.CopyFrom(onnx.numpy_helper.from_array(w, weight.name))
            source = node.input[0]
            if source not in aligned:
                pads = f"{source}/align_pads"
                model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64), pads))
                aligned[source] = f"{source}/aligned"
                nodes.append(onnx.helper.make_node("Pad", [source, pads], [aligned[source]], name=f"{source}/align"))
            node.input[0] = aligned[source]
            padded += 1
        nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return padded


def onnx_io(path: str | os.PathLike) -> dict[str, list]:
    """Names and shapes (a string for a symbolic axis) of an ONNX file's inputs and outputs."""
    model = onnx.load(str(path), load_external_data=False)

    def dims(value) -> list:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    return {
        "inputs": [(v.name, dims(v)) for v in model.graph.input],
        "outputs": [(v.name, dims(v)) for v in model.graph.output],
        "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
    }
