"""Training targets derived from keypoints alone: joint and bone heatmaps, depth-centric cube, ordinal labels.

All functions are batched torch, device-agnostic (outputs live on the inputs' device). Conventions:
- Grid coordinates: u, v in heatmap pixels with integer values at pixel centres; the crop pixel
  p maps to (p + 0.5) / stride - 0.5.
- Depth: root-relative depth dz (mm, after the geodesic normalisation of Eq. 10) is scaled to
  s = dz / depth_range_mm * C in [-C/2, C/2] (the paper's cube), then to the continuous grid
  coordinate z = s + C/2 - 0.5 (bin k is centred at z = k) and to the discrete bin
  d = clamp(floor(s + C/2), 0, C - 1) = round(z). The root (s = 0) lands in bin C/2.
- Ordinal labels (Eq. 4-5, 0-based): channel c is the event d > c. Eq. 4's 1-based sums
  (log P for c <= d, log(1 - P) above) are this with c and d shifted by one.
"""

from typing import NamedTuple

import torch

from model.net.skeleton import BONES, ROOT
from model.net.config import ModelConfig

# Neck-to-knee geodesic path of Eq. 10 as bones (parent, child): thorax->spine->pelvis on the trunk,
# then pelvis->hip->knee on each leg; the two legs are averaged.
GEODESIC_TRUNK: tuple[tuple[int, int], ...] = ((8, 7), (7, 0))
GEODESIC_LEGS: tuple[tuple[tuple[int, int], ...], ...] = (((0, 1), (1, 2)), ((0, 4), (4, 5)))


class Targets(NamedTuple):
    """Targets for one batch (B samples, J joints, K bones, C bins, H = W = heatmap_size), float32.

    joint_heatmaps: (B, J, H, W) Gaussians (sigma cfg.joint_sigma) at visible joints, zero elsewhere.
    bone_heatmaps:  (B, K, H, W) Eq. 1 along each bone whose two joints are visible.
    depth_cube:     (B, C, H, W) each depth-valid joint's heatmap at its depth bin (max where they share one).
    ordinal_labels: (B, C, H, W) 1 where d(w,h) > c else 0.
    ordinal_mask:   (B, 1, H, W) 1 where d(w,h) is defined (cube support > cfg.ordinal_support), else 0.
    uvz:            (B, J, 3)    grid 2.5D targets (z meaningful only where depth_weight > 0).
    joint_weight:   (B, J)       1 for visible joints inside the heatmap, else 0 (2D supervision).
    bone_weight:    (B, K)       1 for bones whose two joints have joint_weight 1, else 0.
    depth_weight:   (B, J)       1 for joints of 3D samples whose depth lies inside the cube, else 0.
    joints_3d:      (B, J, 3)    root-relative mm, geodesic-normalised (zeros for 2D-only samples).
    has_3d:         (B,)         1 for samples with 3D ground truth, else 0.
    """

    joint_heatmaps: torch.Tensor
    bone_heatmaps: torch.Tensor
    depth_cube: torch.Tensor
    ordinal_labels: torch.Tensor
    ordinal_mask: torch.Tensor
    uvz: torch.Tensor
    joint_weight: torch.Tensor
    bone_weight: torch.Tensor
    depth_weight: torch.Tensor
    joints_3d: torch.Tensor
    has_3d: torch.Tensor


def make_targets(
    keypoints_2d: torch.Tensor,
    visibility: torch.Tensor,
    joints_3d: torch.Tensor,
    has_3d: torch.Tensor,
    cfg: ModelConfig,
    epoch: float = 0.0,
) -> Targets:
    """Build every target for a batch.

    keypoints_2d: (B, J, 2) crop pixels (after augmentation), x right, y down.
    visibility:   (B, J) 1 for annotated joints, 0 for missing ones (any dtype).
    joints_3d:    (B, J, 3) camera-axis mm, absolute or root-relative (the root is subtracted here);
                  ignored (may be zeros) where has_3d is 0.
    has_3d:       (B,) 1 for samples with 3D ground truth.
    epoch:        training epoch (fractional allowed) that sets the bone sigma (cfg.bone_sigma).
    """
    b, j = keypoints_2d.shape[:2]
    assert keypoints_2d.shape == (b, j, 2), f"keypoints_2d must be (B, J, 2), got {tuple(keypoints_2d.shape)}"
    assert j == cfg.num_joints, f"expected {cfg.num_joints} joints, got {j}"
    assert visibility.shape == (b, j), f"visibility must be (B, J), got {tuple(visibility.shape)}"
    assert joints_3d.shape == (b, j, 3), f"joints_3d must be (B, J, 3), got {tuple(joints_3d.shape)}"
    assert has_3d.shape == (b,), f"has_3d must be (B,), got {tuple(has_3d.shape)}"
    dev = keypoints_2d.device
    size, c = cfg.heatmap_size, cfg.depth_bins
    kp = keypoints_2d.float()
    has3 = has_3d.to(dev).float()

    uv = crop_to_grid(kp, cfg)
    inside = ((uv >= -0.5) & (uv <= size - 0.5)).all(dim=-1).float()
    joint_weight = visibility.to(dev).float().clamp(0, 1) * inside

    joints = normalise_geodesic(joints_3d.to(dev).float(), has3, cfg.geodesic_mm)
    z = depth_to_grid(joints[..., 2], cfg)
    z_inside = ((z >= -0.5) & (z <= c - 0.5)).float()
    depth_weight = has3[:, None] * z_inside
    bins = depth_bin(z, c)

    joint_hm = gaussian_heatmaps(uv, joint_weight, size, cfg.joint_sigma)
    # The 2D target of a joint is independent of whether its depth is known; the cube holds only the
    # joints of 3D samples (joint heatmaps of joints outside the crop are zero anyway).
    bone_hm = bone_heatmaps(uv, joint_weight, BONES, size, cfg.bone_sigma(epoch))
    cube = depth_cube(joint_hm, bins, depth_weight, c)
    labels, mask = ordinal_targets(joint_hm, bins, depth_weight, c, cfg.ordinal_support)
    uvz = torch.cat([uv, z[..., None]], dim=-1)
    parents = torch.tensor([p for p, _ in BONES], device=dev)
    children = torch.tensor([ch for _, ch in BONES], device=dev)
    bone_weight = joint_weight[:, parents] * joint_weight[:, children]
    return Targets(joint_hm, bone_hm, cube, labels, mask, uvz, joint_weight, bone_weight, depth_weight, joints, has3)


def crop_to_grid(points: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Crop pixels (..., 2) -> heatmap grid coordinates (..., 2) (pixel centres at integers)."""
    return (points + 0.5) / cfg.stride - 0.5


def geodesic_length(joints_3d: torch.Tensor) -> torch.Tensor:
    """Neck-to-knee geodesic length (Eq. 10): (B, J, 3) mm -> (B,) mm, bones summed, legs averaged."""
    def bone(p: int, c: int) -> torch.Tensor:
        return (joints_3d[:, c] - joints_3d[:, p]).norm(dim=-1)

    trunk = sum(bone(p, c) for p, c in GEODESIC_TRUNK)
    legs = sum(sum(bone(p, c) for p, c in leg) for leg in GEODESIC_LEGS) / len(GEODESIC_LEGS)
    return trunk + legs


def normalise_geodesic(joints_3d: torch.Tensor, has_3d: torch.Tensor, geodesic_mm: float) -> torch.Tensor:
    """Eq. 10: root-relative joints scaled by geodesic_mm / Geo(joints); (B, J, 3) -> (B, J, 3).

    Samples without 3D (has_3d == 0) or with a degenerate skeleton come back as zeros.
    """
    rel = joints_3d - joints_3d[:, ROOT : ROOT + 1]
    geo = geodesic_length(rel)
    valid = (has_3d > 0) & (geo > 1e-6)
    scale = torch.where(valid, geodesic_mm / geo.clamp(min=1e-6), torch.zeros_like(geo))
    return rel * scale[:, None, None]


def depth_to_grid(dz_mm: torch.Tensor, cfg: ModelConfig) -> torch.Tensor:
    """Root-relative depth in mm (any shape) -> continuous depth-grid coordinate z (bin k centred at k)."""
    return dz_mm / cfg.mm_per_bin + cfg.depth_bins / 2 - 0.5


def depth_bin(z: torch.Tensor, depth_bins: int) -> torch.Tensor:
    """Continuous depth-grid coordinate -> discrete bin index (long), clamped to [0, C - 1]."""
    return torch.floor(z + 0.5).clamp(0, depth_bins - 1).long()


def _grid(size: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    coords = torch.arange(size, device=like.device, dtype=like.dtype)
    return coords[None, :], coords[:, None]  # xs (1, W), ys (H, 1)


def gaussian_heatmaps(uv: torch.Tensor, weight: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """2D Gaussians exp(-|p - uv|^2 / (2 sigma^2)): uv (B, N, 2) grid px, weight (B, N) -> (B, N, size, size)."""
    xs, ys = _grid(size, uv)
    dx = xs - uv[..., 0, None, None]
    dy = ys - uv[..., 1, None, None]
    hm = torch.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    return hm * weight[..., None, None]


def bone_heatmaps(
    uv: torch.Tensor, weight: torch.Tensor, bones: tuple[tuple[int, int], ...], size: int, sigma: float
) -> torch.Tensor:
    """Eq. 1 along each bone: exp(-Dist(p, segment)^2 / (2 sigma^2)), (B, J, 2) -> (B, K, size, size).

    Dist is the Euclidean distance from pixel p to the parent-child segment (not the infinite line,
    so a bone does not extend past its joints). Eq. 1 as printed writes Dist without a square; we
    square it so the profile across a bone is the same Gaussian as the joint heatmaps, of std sigma.
    A bone is drawn only when both of its joints have weight > 0.
    """
    parents = torch.tensor([p for p, _ in bones], device=uv.device)
    children = torch.tensor([c for _, c in bones], device=uv.device)
    a, b = uv[:, parents], uv[:, children]  # (B, K, 2)
    w = weight[:, parents] * weight[:, children]
    xs, ys = _grid(size, uv)
    ab = b - a
    length2 = (ab * ab).sum(-1).clamp(min=1e-12)[..., None, None]
    px = xs - a[..., 0, None, None]
    py = ys - a[..., 1, None, None]
    t = ((px * ab[..., 0, None, None] + py * ab[..., 1, None, None]) / length2).clamp(0.0, 1.0)
    dx = px - t * ab[..., 0, None, None]
    dy = py - t * ab[..., 1, None, None]
    hm = torch.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    return hm * w[..., None, None]


def depth_cube(joint_heatmaps: torch.Tensor, bins: torch.Tensor, weight: torch.Tensor, depth_bins: int) -> torch.Tensor:
    """Depth-centric cube: each joint's heatmap inserted at channel bins[j]; (B, J, H, W) -> (B, C, H, W).

    Joints sharing a channel are combined with max, so the cube stays a heatmap in [0, 1] and two
    overlapping joints do not make a brighter blob than one. Joints with weight 0 are left out.
    """
    b, j, h, w = joint_heatmaps.shape
    assert bins.shape == (b, j) and weight.shape == (b, j)
    cube = joint_heatmaps.new_zeros(b, depth_bins, h, w)
    rows = torch.arange(b, device=bins.device)
    # One joint at a time keeps memory at one cube (a (B, J, C, H, W) broadcast is 1 GB at batch 64).
    for k in range(j):
        channel = bins[:, k]
        cube[rows, channel] = torch.maximum(cube[rows, channel], joint_heatmaps[:, k] * weight[:, k, None, None])
    return cube


def ordinal_targets(
    joint_heatmaps: torch.Tensor, bins: torch.Tensor, weight: torch.Tensor, depth_bins: int, support: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel ordinal depth labels for Eq. 4-5.

    d(w, h) is the depth bin of the depth-valid joint whose Gaussian is strongest at (w, h); it is
    defined (mask 1) where that Gaussian exceeds `support`, i.e. on the cube's support around joints.
    Returns labels (B, C, H, W) = [d(w,h) > c] and mask (B, 1, H, W).
    """
    hm = joint_heatmaps * weight[..., None, None]
    strongest, which = hm.max(dim=1)  # (B, H, W)
    d = torch.gather(bins, 1, which.flatten(1)).view_as(which)  # (B, H, W)
    c = torch.arange(depth_bins, device=bins.device)[None, :, None, None]
    labels = (d[:, None] > c).to(joint_heatmaps.dtype)
    mask = (strongest > support).to(joint_heatmaps.dtype)[:, None]
    return labels * mask, mask
