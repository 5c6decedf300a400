"""The checkpoint format: the one module that saves, reads, validates and builds networks from checkpoints.

A checkpoint is a torch.save'd dict with (at least):
  "model":         the CascadeNet state dict,
  "model_config":  ModelConfig.to_dict(),
  "skeleton":      model.net.skeleton.Skeleton.to_dict() ({"joints": [...], "parents": [...]}),
  "preprocessing": {"input_size", "channel_order", "pixel_scale", "pixel_mean", "pixel_std",
                    "crop_padding", "crop_aspect"}.
Training state (optimizer, progress, train_config, "format") may sit beside them: training reads it
back with read_checkpoint(); everything downstream (export, the app's PyTorch engine) uses
load_checkpoint() and ignores it. Floating-point weights may be stored as fp16 (shipped files); they are
cast back to the network's dtype on load.
"""

import io
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from model.atomic import atomic_write_bytes, sha256_file
from model.net.config import ModelConfig
from model.errors import one_line
from model.net.network import CascadeNet
from model.net.skeleton import H36M, Skeleton

# The crop recipe of model/data/augment.py + model/data/datasets/common.crop_box (the public 3DMPPE code's).
DEFAULT_CROP_PADDING = 1.25
DEFAULT_CROP_ASPECT = 1.0


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message is one line naming the file."""


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """torch.save `payload` to `path` atomically (a reader sees the old file or the whole new one)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def make_payload(net: CascadeNet, cfg: ModelConfig, crop_padding: float | None = None, fp16: bool = False,
                 **extra) -> dict:
    """The checkpoint dict of a network: weights, model config, skeleton and preprocessing, plus `extra`
    entries (train_config, progress, optimizer, format...). fp16 stores floating-point weights as half."""
    state = {k: (v.half() if fp16 and v.is_floating_point() else v).detach().clone() for k, v in net.state_dict().items()}
    payload = {
        "model": state,
        "model_config": cfg.to_dict(),
        "skeleton": H36M.to_dict(),
        "preprocessing": default_preprocessing(cfg, crop_padding),
    }
    if fp16:
        payload["stored_dtype"] = "float16"
    payload.update(extra)
    return payload


def read_checkpoint(path: str | os.PathLike) -> dict:
    """A checkpoint as its raw dict (training state included); problems are one-line CheckpointErrors naming the file."""
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({e.__class__.__name__})") from None
    if not isinstance(data, dict) or "model" not in data or "model_config" not in data:
        raise CheckpointError(f"{path}: not a Cascade3D checkpoint (needs 'model' weights and 'model_config')")
    return data


def network_from_state(state_dict: dict, cfg: ModelConfig, path: str | os.PathLike) -> CascadeNet:
    """A network of config `cfg` (pretrained loading off) holding `state_dict`; a mismatch is a CheckpointError."""
    try:
        net = CascadeNet(inference_config(cfg))
        net.load_state_dict(state_dict)
    except (ValueError, TypeError, AssertionError, RuntimeError) as e:
        raise CheckpointError(f"{path}: weights do not fit its model_config ({one_line(e)})") from None
    return net


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint: the network config, weights, skeleton and preprocessing, and the file's hash."""

    path: Path
    sha256: str
    config: ModelConfig
    state_dict: dict
    skeleton: Skeleton
    preprocessing: dict

    def build_network(self, device: str | torch.device = "cpu") -> CascadeNet:
        """The network with these weights, in eval mode, on `device`."""
        return network_from_state(self.state_dict, self.config, self.path).eval().to(device)

    def at_input_size(self, size: int) -> "Checkpoint":
        """These weights for crops of `size` px (a multiple of 32). They fit any size: the network is
        convolutional up to its volume head, and the soft-argmax's output is normalised by the heatmap
        size before the lifting block (model.net.network.normalise_uvz); only the accuracy changes."""
        if size == self.config.input_size:
            return self
        config = self.config.replace(input_size=int(size))
        return replace(self, config=config, preprocessing={**self.preprocessing, "input_size": int(size)})


# The largest crop side accepted: 4x the paper's 256 px (16x the pixels). A card saying 100000 px passed every
# check and then asked for 83.8 GiB on the first frame.
MAX_INPUT_SIZE = 1024


def input_size_problem(size: int, option: str = "--input-size") -> str | None:
    """Why `size` cannot be a crop size for these networks (None if it can): the backbone needs a multiple of 32.
    option: what the message calls the value (the command-line option it came from)."""
    if size < 32 or size % 32 or size > MAX_INPUT_SIZE:
        return f"{option} must be a positive multiple of 32 up to {MAX_INPUT_SIZE}, got {size}"
    return None


def inference_config(cfg: ModelConfig) -> ModelConfig:
    """The config to rebuild a trained network: no pretrained-weight loading (the checkpoint has them)."""
    return cfg.replace(pretrained=False, backbone_weights="")


def default_preprocessing(cfg: ModelConfig, crop_padding: float | None = None) -> dict:
    """The preprocessing model/ trains with, for a config: RGB, [0, 1] pixels, ImageNet mean/std, 1.25 padding."""
    return {
        "input_size": cfg.input_size,
        "channel_order": "RGB",
        "pixel_scale": 255.0,
        "pixel_mean": list(cfg.pixel_mean),
        "pixel_std": list(cfg.pixel_std),
        "crop_padding": DEFAULT_CROP_PADDING if crop_padding is None else float(crop_padding),
        "crop_aspect": DEFAULT_CROP_ASPECT,
    }


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint file; every problem is a one-line CheckpointError naming it and the field.

    Checked here (so that a checkpoint that loads is one the network, the crop code and export can use):
    'model' is a dict of tensors; every model_config field has its default's type; the skeleton has
    num_joints names and parent indices; preprocessing fields have their types and ranges.
    """
    path = Path(path)
    data = read_checkpoint(path)
    state = data["model"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CheckpointError(f"{path}: field 'model' is not a dict of named tensors")
    config = _model_config(data["model_config"], path)
    try:
        skeleton = Skeleton.from_dict(data["skeleton"]) if "skeleton" in data else H36M
        assert all(isinstance(n, str) for n in skeleton.joint_names)
        assert all(-1 <= p < len(skeleton.parents) for p in skeleton.parents)
    except (ValueError, TypeError, KeyError, AttributeError, AssertionError, OverflowError) as e:
        raise CheckpointError(f"{path}: field 'skeleton' is malformed ({one_line(e)})") from None
    if len(skeleton.joint_names) != config.num_joints:
        raise CheckpointError(f"{path}: skeleton has {len(skeleton.joint_names)} joints, model_config {config.num_joints}")
    preprocessing = _preprocessing(default_preprocessing(config), data.get("preprocessing"), path)
    if preprocessing["input_size"] != config.input_size:
        raise CheckpointError(
            f"{path}: preprocessing input_size {preprocessing['input_size']} differs from model_config {config.input_size}"
        )
    return Checkpoint(path, sha256_file(path), config, state, skeleton, preprocessing)


def _model_config(values, path: Path) -> ModelConfig:
    """ModelConfig from a checkpoint's dict, each field of its default's type (ints for floats allowed)."""
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: field 'model_config' is not a dict")
    defaults = ModelConfig()
    for key, value in values.items():
        if not hasattr(defaults, str(key)):
            continue  # from_dict names unknown keys
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, (int, float)):
            ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                  and (isinstance(value, int) or isinstance(default, float)))
        elif isinstance(default, tuple):
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        else:
            ok = isinstance(value, type(default))
        if not ok:
            shown = repr(value)
            raise CheckpointError(f"{path}: field 'model_config.{key}' is {shown[:40]}, expected "
                                  f"{type(default).__name__}")
    try:
        return ModelConfig.from_dict(values)
    except (ValueError, TypeError, AssertionError, KeyError, ZeroDivisionError) as e:
        raise CheckpointError(f"{path}: bad model_config ({one_line(e)})") from None


def _preprocessing(defaults: dict, values, path: Path) -> dict:
    """The checkpoint's preprocessing over the defaults, each field checked (numbers finite, scales positive)."""
    if values is None:
        return defaults
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: field 'preprocessing' is not a dict")
    out = defaults | values

    def fail(key: str, expected: str) -> CheckpointError:
        return CheckpointError(f"{path}: field 'preprocessing.{key}' is {out[key]!r:.40}, expected {expected}")

    def number(value, positive: bool) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                and (value > 0 or not positive))

    if not isinstance(out["input_size"], int) or isinstance(out["input_size"], bool) or out["input_size"] < 1:
        raise fail("input_size", "a positive integer")
    if out["channel_order"] not in ("RGB", "BGR"):
        raise fail("channel_order", "RGB or BGR")
    for key in ("pixel_scale", "crop_padding", "crop_aspect"):
        if not number(out[key], positive=True):
            raise fail(key, "a positive number")
        out[key] = float(out[key])
    for key, positive in (("pixel_mean", False), ("pixel_std", True)):
        if not isinstance(out[key], (list, tuple)) or len(out[key]) != 3 or not all(number(v, positive) for v in out[key]):
            raise fail(key, "3 " + ("positive " if positive else "") + "numbers")
        out[key] = [float(v) for v in out[key]]
    return out


def make_random_checkpoint(path: str | os.PathLike, cfg: ModelConfig, seed: int = 0) -> Path:
    """Save a random-weight (untrained) checkpoint in the training format, for tests and benchmarks.

    Pretrained backbone loading is switched off; BatchNorm running statistics are randomised a little
    and the volume logits are scaled to a spread of a trained network's order, so that the soft-argmax
    is peaked and (u, v) vary across the crop instead of all sitting at its centre: parity checks
    then compare something.
    """
    torch.manual_seed(seed)
    cfg = inference_config(cfg)
    net = CascadeNet(cfg).eval()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                n = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(1.0 + 0.1 * torch.rand(n, generator=generator))
        _sharpen_volume_logits(net, cfg, generator)
    return save_checkpoint(path, make_payload(net, cfg))


def _sharpen_volume_logits(net: CascadeNet, cfg: ModelConfig, generator: torch.Generator, spread: float = 4.0) -> None:
    """Scale the final 1x1 volume conv so that its logits have std `spread` on random input."""
    if not isinstance(getattr(getattr(net, "volume", None), "conv", None), torch.nn.Conv2d):
        return  # another network layout: leave the weights as initialised
    seen = {}
    hook = net.volume.conv.register_forward_hook(lambda _m, _i, out: seen.setdefault("logits", out))
    try:
        net.infer(torch.randn(2, 3, cfg.input_size, cfg.input_size, generator=generator))
    finally:
        hook.remove()
    scale = spread / max(float(seen["logits"].std()), 1e-6)
    net.volume.conv.weight.mul_(scale)
    net.volume.conv.bias.mul_(scale)


def resume_training(path: str | os.PathLike, net: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict | None:
    """Load a training checkpoint's weights and optimiser state (written with an 'optimizer' entry) into `net`
    and `optimizer`; returns its 'progress' dict (step, elapsed_s, ...), or None when `path` does not exist."""
    if not os.path.isfile(path):
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    progress = state["progress"]
    print(f"resumed at step {progress['step']}, {progress['elapsed_s'] / 60:.1f} min", flush=True)
    return progress
