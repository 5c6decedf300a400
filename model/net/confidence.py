"""The network's own confidence: per-joint peak mass of the 2D heatmap, and a per-crop person score head.

Joint confidence (no parameters): the soft-argmax (Eq. 7-8) turns each joint's volume into a
probability distribution over the C x H x W cells. Summed over depth it is a 2D distribution p(v, u)
over heatmap cells; the confidence is the mass of p inside a window around the soft-argmax (u, v): full
weight within PEAK_RADIUS cells, fading linearly to zero one cell further (a hard edge would let a
rounding difference between runtimes move a whole cell in or out). A sharp, single peak puts most of its mass there (confidence near 1); a flat or
two-peaked map (a hidden wrist, a joint the crop does not show, an empty background crop) spreads it
(confidence near 0). It is in [0, 1] and monotone in how concentrated the map is, not a calibrated
probability of a correct joint (assets/README.md reports how it relates to the error).

Person score (a small head): global average and max pooling of the backbone's stride-32 features, an
MLP, a logit; sigmoid(logit) in [0, 1] is the probability that the crop holds a person. It is trained
with binary cross-entropy on positive crops (the pose training data) and negatives (background crops
and person-detector false positives, bench/mine_negatives.py).
"""

import torch
from torch import nn

PEAK_RADIUS = 1.0  # heatmap cells of full weight around the peak: the 3 x 3 cells nearest it (+-4 px at 192 px, stride 4)


def volume_marginals(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-joint volume logits (B, J, D, H, W) -> (p_vu (B, J, H, W), p_z (B, J, D)): the softmax over
    each joint's whole volume, summed over depth and over the image plane."""
    assert logits.dim() == 5, f"expected (B, J, D, H, W) logits, got {tuple(logits.shape)}"
    _, j, d, h, w = logits.shape
    prob = torch.softmax(logits.reshape(-1, j, d * h * w), dim=-1).reshape(-1, j, d, h, w)
    return prob.sum(dim=2), prob.sum(dim=(3, 4))


def peak_mass(p_vu: torch.Tensor, u: torch.Tensor, v: torch.Tensor, radius: float = PEAK_RADIUS) -> torch.Tensor:
    """Mass of p_vu (B, J, H, W) near (u, v) (B, J) grid units -> (B, J) in [0, 1]: cells within `radius`
    of it count fully, cells one more cell away partly (linear fade), per axis.

    The window is separable (a trapezoid in u times one in v), so the sum is two small contractions.
    """
    h, w = p_vu.shape[-2:]
    cells_u = torch.arange(w, device=p_vu.device, dtype=p_vu.dtype)
    cells_v = torch.arange(h, device=p_vu.device, dtype=p_vu.dtype)
    in_u = (radius + 1.0 - (cells_u - u[..., None]).abs()).clamp(0.0, 1.0)  # (B, J, W)
    in_v = (radius + 1.0 - (cells_v - v[..., None]).abs()).clamp(0.0, 1.0)  # (B, J, H)
    per_row = (p_vu * in_u[..., None, :]).sum(-1)  # (B, J, H)
    return (per_row * in_v).sum(-1).clamp(0.0, 1.0)


class PersonHead(nn.Module):
    """Backbone feature maps -> person logit (B,). Average and max pooling of each map, then an MLP.

    forward(features (B, Cb, h, w), taps=((B, C1, h1, w1), ...)): the backbone's output and, with
    ModelConfig.person_taps, deeper maps of the same pass; in_channels is Cb + C1 + ... .
    Max pooling keeps a person who fills only part of the crop visible; average pooling sees the whole
    crop. The last layer starts at zero weight and a positive bias, so a network that gains this head
    starts out keeping every crop (sigmoid(3) = 0.95) rather than dropping people at random.
    """

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.mlp = nn.Sequential(nn.Linear(2 * in_channels, width), nn.ReLU(inplace=True), nn.Linear(width, 1))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.constant_(self.mlp[2].bias, 3.0)

    def pool(self, features: torch.Tensor, taps: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
        """The MLP's input (B, 2 in_channels): each map's mean, then each map's max."""
        maps = (features, *taps)
        assert sum(m.shape[1] for m in maps) == self.in_channels, (
            f"person head expects {self.in_channels} channels, got {[m.shape[1] for m in maps]}")
        return torch.cat([m.mean(dim=(2, 3)) for m in maps] + [m.amax(dim=(2, 3)) for m in maps], dim=1)

    def forward(self, features: torch.Tensor, taps: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
        return self.mlp(self.pool(features, taps))[:, 0]
