"""The paper's losses: L2D (Eq. 2), L3D (Eq. 3), Ldepth (Eq. 4), the 2.5D and 3D L1 losses (Eq. 9).

Every term is a mean over the samples (and joints) that carry its supervision, so adding 2D-only
samples to a batch does not dilute the 3D terms:
- a 2D-only sample (has_3d = 0) supervises the joint and bone heatmaps and the u, v of the
  soft-argmax; its depth cube, ordinal labels, z and lifted 3D joints contribute nothing
  ("the loss value of the z-axis becomes zero");
- a 3D sample supervises everything.
Heatmap terms take Eq. 2-3's squared L2 norm literally (summed over pixels), averaged over channels.
"""

import torch
import torch.nn.functional as F

from model.net.config import ModelConfig
from model.net.network import CascadeOutput
from model.data.targets import Targets

LOSS_NAMES = ("joint", "bone", "cube", "ordinal", "uvz", "pose")


def heatmap_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Eq. 2: sum over pixels of squared error per channel, weighted mean over (B, N) channels.

    pred, target (B, N, H, W); weight (B, N) in [0, 1]. Returns a scalar.
    """
    assert pred.shape == target.shape, f"{tuple(pred.shape)} vs {tuple(target.shape)}"
    per_channel = (pred.float() - target).pow(2).sum(dim=(2, 3))
    return (per_channel * weight).sum() / weight.sum().clamp(min=1.0)


def cube_loss(pred: torch.Tensor, target: torch.Tensor, has_3d: torch.Tensor) -> torch.Tensor:
    """Eq. 3: sum over pixels of squared error per depth channel, mean over channels and 3D samples.

    pred, target (B, C, H, W); has_3d (B,). Returns a scalar.
    """
    assert pred.shape == target.shape, f"{tuple(pred.shape)} vs {tuple(target.shape)}"
    per_sample = (pred.float() - target).pow(2).sum(dim=(2, 3)).mean(dim=1)
    return (per_sample * has_3d).sum() / has_3d.sum().clamp(min=1.0)


def ordinal_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 4 as a negative log-likelihood: -[sum_{c: d>c} log P^c + sum_{c: d<=c} log(1 - P^c)],
    P^c = sigmoid(logit_c), averaged over the C channels and over the pixels where d is defined.

    logits, labels (B, C, H, W); mask (B, 1, H, W). Returns a scalar.
    """
    assert logits.shape == labels.shape, f"{tuple(logits.shape)} vs {tuple(labels.shape)}"
    nll = F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="none").mean(dim=1, keepdim=True)
    return (nll * mask).sum() / mask.sum().clamp(min=1.0)


def uvz_loss(pred: torch.Tensor, target: torch.Tensor, joint_weight: torch.Tensor, depth_weight: torch.Tensor) -> torch.Tensor:
    """L1 on the soft-argmax 2.5D joints (grid units): |du| + |dv| over joints with 2D labels, plus
    |dz| over joints with depth labels, each a weighted mean over joints. pred, target (B, J, 3)."""
    err = (pred.float() - target).abs()
    uv = (err[..., :2].sum(-1) * joint_weight).sum() / joint_weight.sum().clamp(min=1.0)
    z = (err[..., 2] * depth_weight).sum() / depth_weight.sum().clamp(min=1.0)
    return uv + z


def pose_loss(pred_mm: torch.Tensor, target_mm: torch.Tensor, has_3d: torch.Tensor) -> torch.Tensor:
    """Eq. 9: per-joint L1 norm (summed over x, y, z) in metres, mean over joints and 3D samples.

    pred_mm, target_mm (B, J, 3) root-relative mm; has_3d (B,). Returns a scalar.
    """
    per_sample = (pred_mm.float() - target_mm).abs().sum(-1).mean(-1) / 1000.0
    return (per_sample * has_3d).sum() / has_3d.sum().clamp(min=1.0)


def cascade_loss(out: CascadeOutput, tgt: Targets, cfg: ModelConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of all terms -> (total scalar tensor for backward, {name: float} incl. 'total')."""
    terms = {
        "joint": heatmap_loss(out.joint_heatmaps, tgt.joint_heatmaps, tgt.joint_weight),
        "bone": heatmap_loss(out.bone_heatmaps, tgt.bone_heatmaps, tgt.bone_weight),
        "cube": cube_loss(out.depth_cube, tgt.depth_cube, tgt.has_3d),
        "ordinal": ordinal_loss(out.ordinal_logits, tgt.ordinal_labels, tgt.ordinal_mask),
        "uvz": uvz_loss(out.uvz, tgt.uvz, tgt.joint_weight, tgt.depth_weight),
        "pose": pose_loss(out.joints_3d, tgt.joints_3d, tgt.has_3d),
    }
    weights = {
        "joint": cfg.w_joint, "bone": cfg.w_bone, "cube": cfg.w_cube,
        "ordinal": cfg.w_ordinal, "uvz": cfg.w_uvz, "pose": cfg.w_pose,
    }
    total = sum(weights[k] * v for k, v in terms.items())
    logs = {k: float(v.detach()) for k, v in terms.items()}
    logs["total"] = float(total.detach())
    return total, logs
