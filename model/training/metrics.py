"""Pose metrics and the paper's result tables: MPJPE, PA-MPJPE, per-action tables, 3DPCK and AUC.

All poses are (N, J, 3) arrays in millimetres. MPJPE aligns the roots (pelvis, joint 0) first;
PA-MPJPE additionally applies the best similarity transform (scale, rotation, translation; a
Procrustes analysis) to each predicted pose. MuPoTS-3D's 3DPCK counts joints closer than 150 mm to
the ground truth after root alignment; its AUC averages the PCK over thresholds 0, 5, ..., 150 mm.
"""

from typing import Sequence

import numpy as np

from model.net.skeleton import JOINT_NAMES, PARENTS, ROOT
from model.data.datasets.common import H36M_ACTION_COLUMNS

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM: np.ndarray = np.arange(0.0, 151.0, 5.0)

# The 14 joints the official MuPoTS-3D / MPI-INF-3DHP evaluation scores (its 'head_top, neck,
# shoulders, elbows, wrists, hips, knees, ankles'), as our joint indices.
MUPOTS_EVAL_JOINTS: tuple[int, ...] = tuple(JOINT_NAMES.index(n) for n in (
    "head", "thorax", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
))


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    assert pred.shape == gt.shape and pred.ndim == 3 and pred.shape[-1] == 3, (pred.shape, gt.shape)
    return pred, gt


def root_align(joints: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(N, J, 3) -> the same poses with the root joint moved to the origin."""
    return joints - joints[:, root:root + 1]


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) Euclidean distance per joint, mm, with no alignment."""
    pred, gt = _check(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Each predicted pose moved by the similarity transform (s, R, t) minimising
    sum_j |s R p_j + t - g_j|^2, with R a proper rotation (no mirroring). (N, J, 3) -> (N, J, 3)."""
    pred, gt = _check(pred, gt)
    mu_p, mu_g = pred.mean(axis=1, keepdims=True), gt.mean(axis=1, keepdims=True)
    p0, g0 = pred - mu_p, gt - mu_g
    # Row-vector form: aligned = s * p0 @ R + mu_g, with R from the SVD of p0^T g0.
    u, sigma, vt = np.linalg.svd(np.einsum("nji,njk->nik", p0, g0))
    sign = np.sign(np.linalg.det(u @ vt))
    u[:, :, -1] *= sign[:, None]
    sigma[:, -1] *= sign
    rotation = u @ vt
    scale = sigma.sum(axis=1) / np.maximum((p0 ** 2).sum(axis=(1, 2)), 1e-12)
    return scale[:, None, None] * (p0 @ rotation) + mu_g


def mpjpe_per_joint(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) root-aligned per-joint errors, mm."""
    pred, gt = _check(pred, gt)
    return joint_errors(root_align(pred), root_align(gt))


def pa_mpjpe_per_joint(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) per-joint errors after Procrustes alignment of each pose, mm."""
    pred, gt = _check(pred, gt)
    gt = root_align(gt)
    return joint_errors(procrustes_align(root_align(pred), gt), gt)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error after root alignment, mm."""
    return float(mpjpe_per_joint(pred, gt).mean())


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error after Procrustes (similarity) alignment, mm."""
    return float(pa_mpjpe_per_joint(pred, gt).mean())


def action_means(errors: np.ndarray, actions: np.ndarray) -> dict[str, float]:
    """Per-action means for the paper's Tables 1-2: the 15 columns (Dir. .. WalkP.) and 'Avg'.

    errors: (N, J) or (N,) per-sample errors, mm; actions: (N,) index into the 15 actions.
    Avg is the mean over all test samples (as the public evaluation code reports it). An action with
    no samples gets NaN.
    """
    errors = np.asarray(errors, dtype=np.float64)
    per_sample = errors.mean(axis=1) if errors.ndim == 2 else errors
    actions = np.asarray(actions)
    assert per_sample.shape == actions.shape, (per_sample.shape, actions.shape)
    table = {}
    for a, column in enumerate(H36M_ACTION_COLUMNS):
        chosen = per_sample[actions == a]
        table[column] = float(chosen.mean()) if chosen.size else float("nan")
    table["Avg"] = float(per_sample.mean()) if per_sample.size else float("nan")
    return table


def _cell(value: float, width: int) -> str:
    return f"{'-':>{width}}" if value != value else f"{value:>{width}.1f}"


def format_action_table(rows: Sequence[tuple[str, dict[str, float]]], caption: str) -> str:
    """The layout of the paper's Tables 1-2: 'Methods Dir. Dis. ... WalkP. Avg', one row per method."""
    columns = (*H36M_ACTION_COLUMNS, "Avg")
    name_width = max([len("Methods")] + [len(name) for name, _ in rows])
    lines = [f"{'Methods':<{name_width}}" + "".join(f"{c:>7}" for c in columns)]
    for name, table in rows:
        lines.append(f"{name:<{name_width}}" + "".join(_cell(table.get(c, float('nan')), 7) for c in columns))
    lines.append(caption)
    return "\n".join(lines)


def pck(errors: np.ndarray, threshold: float = PCK_THRESHOLD_MM) -> float:
    """Percentage of joint errors below threshold (mm), over all entries of errors."""
    errors = np.asarray(errors, dtype=np.float64)
    return float(100.0 * np.mean(errors < threshold))


def auc(errors: np.ndarray, thresholds: np.ndarray = AUC_THRESHOLDS_MM) -> float:
    """Area under the PCK curve, percent: the mean PCK over thresholds (mm)."""
    return float(np.mean([pck(errors, t) for t in thresholds]))


def rescale_to_gt_bones(pred: np.ndarray, gt: np.ndarray, parents: Sequence[int] = PARENTS) -> np.ndarray:
    """Each predicted bone stretched to its ground-truth length, keeping its direction, walking the
    tree from the root (the official MuPoTS-3D evaluation does this before scoring).

    pred, gt: (N, J, 3). Returns (N, J, 3) with the predicted root kept in place.
    """
    pred, gt = _check(pred, gt)
    out = pred.copy()
    for child, parent in enumerate(parents):
        if parent < 0:
            continue
        direction = pred[:, child] - pred[:, parent]
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        length = np.linalg.norm(gt[:, child] - gt[:, parent], axis=-1, keepdims=True)
        out[:, child] = out[:, parent] + direction / np.maximum(norm, 1e-9) * length
    return out


def mupots_errors(pred: np.ndarray, gt: np.ndarray, rescale_bones: bool = True) -> np.ndarray:
    """(N, 14) root-aligned errors of MuPoTS' 14 scored joints, mm, optionally after stretching the
    predicted bones to the ground-truth lengths as the official evaluation does."""
    pred, gt = root_align(_check(pred, gt)[0]), root_align(np.asarray(gt, dtype=np.float64))
    if rescale_bones:
        pred = rescale_to_gt_bones(pred, gt)
    return joint_errors(pred, gt)[:, list(MUPOTS_EVAL_JOINTS)]


def sequence_pck(errors: np.ndarray, sequences: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Per-sequence (3DPCK at 150 mm, AUC), percent, and 'Avg' = the mean over the sequences.

    errors: (N, K) per-person joint errors; sequences: (N,) names such as 'TS1'.
    """
    errors, sequences = np.asarray(errors, dtype=np.float64), np.asarray(sequences)
    assert errors.shape[0] == sequences.shape[0], (errors.shape, sequences.shape)
    names = sorted(set(sequences.tolist()), key=lambda s: (len(s), s))
    table = {name: (pck(errors[sequences == name]), auc(errors[sequences == name])) for name in names}
    if names:
        table["Avg"] = (float(np.mean([v[0] for v in table.values()])), float(np.mean([v[1] for v in table.values()])))
    return table


def format_mupots_table(method: str, table: dict[str, tuple[float, float]]) -> str:
    """The paper's Table 3 layout ('Methods 3DPCK(%)'), followed by the per-sequence breakdown."""
    avg = table.get("Avg", (float("nan"), float("nan")))
    width = max(len("Methods"), len(method))
    lines = [f"{'Methods':<{width}}  3DPCK(%)", f"{method:<{width}}  {_cell(avg[0], 8).strip()}",
             "Table 3: 3DPCK on MuPoTS-3D (all annotated people, root-relative, 150 mm).", ""]
    names = [n for n in table if n != "Avg"]
    lines.append(f"{'':<6}" + "".join(f"{n:>7}" for n in (*names, "Avg")))
    lines.append(f"{'3DPCK':<6}" + "".join(_cell(table[n][0], 7) for n in (*names, "Avg")))
    lines.append(f"{'AUC':<6}" + "".join(_cell(table[n][1], 7) for n in (*names, "Avg")))
    return "\n".join(lines)
