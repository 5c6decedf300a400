"""Reading training checkpoints for export (and writing random-weight ones for tests and benchmarks).

A checkpoint is a torch.save'd dict with (at least):
  "model":         the CascadeNet state dict,
  "model_config":  ModelConfig.to_dict(),
  "skeleton":      app.skeleton.Skeleton.to_dict() ({"joints": [...], "parents": [...]}),
  "preprocessing": {"input_size", "channel_order", "pixel_scale", "pixel_mean", "pixel_std",
                    "crop_padding", "crop_aspect"}.
Optimizer state and training progress may sit beside them and are ignored here.
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from app.skeleton import H36M, Skeleton
from export.card import atomic_write_bytes, sha256_file
from model.config import ModelConfig
from model.network import CascadeNet

# The crop recipe of model/augment.py + model/datasets/common.crop_box (the public 3DMPPE code's).
DEFAULT_CROP_PADDING = 1.25
DEFAULT_CROP_ASPECT = 1.0


class CheckpointError(ValueError):
    """A checkpoint cannot be used; the message is one line naming the file."""


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
        net = CascadeNet(inference_config(self.config))
        try:
            net.load_state_dict(self.state_dict)
        except RuntimeError as e:
            first = str(e).strip().splitlines()[0]
            raise CheckpointError(f"{self.path}: weights do not fit its model_config ({first})") from None
        return net.eval().to(device)


def inference_config(cfg: ModelConfig) -> ModelConfig:
    """The config to rebuild a trained network: no pretrained-weight loading (the checkpoint has them)."""
    return cfg.replace(pretrained=False, backbone_weights="")


def default_preprocessing(cfg: ModelConfig) -> dict:
    """The preprocessing model/ trains with, for a config: RGB, [0, 1] pixels, ImageNet mean/std, 1.25 padding."""
    return {
        "input_size": cfg.input_size,
        "channel_order": "RGB",
        "pixel_scale": 255.0,
        "pixel_mean": list(cfg.pixel_mean),
        "pixel_std": list(cfg.pixel_std),
        "crop_padding": DEFAULT_CROP_PADDING,
        "crop_aspect": DEFAULT_CROP_ASPECT,
    }


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint file; every problem is a one-line CheckpointError naming it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({e.__class__.__name__})") from None
    if not isinstance(data, dict) or "model" not in data or "model_config" not in data:
        raise CheckpointError(f"{path}: not a Cascade3D checkpoint (needs 'model' weights and 'model_config')")
    try:
        config = ModelConfig.from_dict(data["model_config"])
    except (ValueError, TypeError, AssertionError) as e:
        raise CheckpointError(f"{path}: bad model_config ({e})") from None
    skeleton = Skeleton.from_dict(data["skeleton"]) if "skeleton" in data else H36M
    if len(skeleton.joint_names) != config.num_joints:
        raise CheckpointError(f"{path}: skeleton has {len(skeleton.joint_names)} joints, model_config {config.num_joints}")
    preprocessing = default_preprocessing(config) | dict(data.get("preprocessing") or {})
    if int(preprocessing["input_size"]) != config.input_size:
        raise CheckpointError(
            f"{path}: preprocessing input_size {preprocessing['input_size']} differs from model_config {config.input_size}"
        )
    return Checkpoint(path, sha256_file(path), config, data["model"], skeleton, preprocessing)


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
    payload = {
        "model": net.state_dict(),
        "model_config": cfg.to_dict(),
        "skeleton": H36M.to_dict(),
        "preprocessing": default_preprocessing(cfg),
    }
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


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
