"""Multi-person tracking: keeps one stable ID per person across frames, through short occlusions.

Each frame, existing tracks and new poses are matched with the Hungarian algorithm on a cost that
adds three cues, each near 0 for the same person and near 1 or more for another:
  1 - IoU(box predicted with constant velocity, new box)
  + mean distance of confident 2D joints (predicted) / track box height
  + |root depth difference| / track root depth      (people who cross in 2D differ in depth)
Pairs that fail every gate are never matched. A track that is not matched is kept for
max_missed_s seconds (so an occluded person gets its ID back) and its last pose is shown for
hold_frames frames (bridging single-frame detector misses).

Poses are either confirmed (found in a person detector's box) or not (found where a track predicted
the person would be). Only confirmed poses start tracks, and not those the pose backend judged not a
person (PersonPose.is_person False: a detector's false positive); each track remembers when a confirmed
pose last matched it: a network that always answers, as a regression network does, would otherwise
keep a track alive on its own predictions after the person left (a ghost).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from app.types import PersonPose
from model.boxes import box_iou

UNMATCHABLE = 1e6


@dataclass(frozen=True)
class TrackerConfig:
    """Association gates and memory."""

    max_missed_s: float = 1.0  # a lost track is kept this long so a briefly occluded person keeps its ID
    hold_frames: int = 3  # frames a lost track's last pose is still shown (detector misses)
    min_iou: float = 0.05  # below this IoU a pair can still match on pose and depth, not on the box alone
    max_pose_distance: float = 0.6  # gate on the 2D joint distance, in track box heights
    max_cost: float = 1.8  # pairs costing more are different people
    min_confidence: float = 0.3  # joints below this confidence are left out of the pose distance


@dataclass
class _TrackState:
    track_id: int
    pose: PersonPose
    last_time: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # box px per second
    age: int = 0
    missed: int = 0
    confirmed_time: float = 0.0  # when a confirmed (detector) pose last matched this track, seconds
    unconfirmed_run: int = 0  # consecutive matched frames without a confirmed pose

    def predicted_box(self, t: float) -> np.ndarray:
        return self.pose.box_xyxy + self.velocity * (t - self.last_time)

    def predicted_keypoints(self, t: float) -> np.ndarray:
        shift = self.predicted_box(t)[:2] - self.pose.box_xyxy[:2]
        kp = self.pose.keypoints_2d.copy()
        kp[:, :2] += shift
        return kp


class Tracker:
    """Assigns stable integer IDs (from 1) to the poses of successive frames."""

    def __init__(self, config: TrackerConfig = TrackerConfig()):
        self.config = config
        self._tracks: list[_TrackState] = []
        self._next_id = 1
        self.longest_unconfirmed_run = 0  # frames, over every track since reset (benchmarks report it)

    def reset(self) -> None:
        self._tracks, self._next_id = [], 1
        self.longest_unconfirmed_run = 0

    def _cost(self, track: _TrackState, pose: PersonPose, t: float) -> float:
        c = self.config
        box = track.predicted_box(t)
        iou = box_iou(box, pose.box_xyxy)
        height = max(float(box[3] - box[1]), 1.0)
        old, new = track.predicted_keypoints(t), pose.keypoints_2d
        both = (old[:, 2] >= c.min_confidence) & (new[:, 2] >= c.min_confidence)
        if np.count_nonzero(both) >= 3:
            pose_distance = float(np.linalg.norm(old[both, :2] - new[both, :2], axis=1).mean()) / height
        else:
            pose_distance = 1.0 - iou
        depth = max(abs(float(track.pose.root[2])), 1.0)
        depth_distance = abs(float(track.pose.root[2] - pose.root[2])) / depth
        if iou < c.min_iou and pose_distance > c.max_pose_distance:
            return UNMATCHABLE
        cost = (1.0 - iou) + pose_distance + depth_distance
        return cost if cost <= c.max_cost else UNMATCHABLE

    def _assign(self, poses: list[PersonPose], t: float) -> list[tuple[int, int]]:
        """(track index, pose index) pairs of the lowest total cost, gated pairs left out."""
        if not self._tracks or not poses:
            return []
        costs = np.array([[self._cost(tr, p, t) for p in poses] for tr in self._tracks])
        rows, cols = linear_sum_assignment(costs)
        return [(r, c) for r, c in zip(rows, cols) if costs[r, c] < UNMATCHABLE]

    def unmatched_track_ids(self, poses: list[PersonPose], t: float) -> set[int]:
        """IDs of live tracks that none of `poses` would be matched to (nothing is changed)."""
        matched = {r for r, _ in self._assign(poses, t)}
        return {tr.track_id for r, tr in enumerate(self._tracks) if r not in matched}

    def update(
        self, poses: list[PersonPose], t: float, fps: float = 30.0, confirmed: list[bool] | None = None,
    ) -> list[tuple[int, PersonPose, int, int]]:
        """Match this frame's poses (time t, seconds) to tracks.

        confirmed: per pose, whether a person detector found it (None = all were); an unconfirmed
        pose, or one whose is_person is False, can continue a track but never starts one.
        Returns (track_id, pose, age, missed) for every track seen this frame (missed 0) or held
        (0 < missed <= hold_frames, with its last pose).
        """
        confirmed = [True] * len(poses) if confirmed is None else list(confirmed)
        assert len(confirmed) == len(poses), (len(confirmed), len(poses))
        pairs = self._assign(poses, t)
        for r, c in pairs:
            track, pose = self._tracks[r], poses[c]
            dt = t - track.last_time
            if dt > 0:
                velocity = (pose.box_xyxy - track.pose.box_xyxy) / dt
                track.velocity = 0.5 * track.velocity + 0.5 * velocity
            track.pose, track.last_time, track.missed = pose, t, 0
            if confirmed[c]:
                track.confirmed_time, track.unconfirmed_run = t, 0
            else:
                track.unconfirmed_run += 1
                self.longest_unconfirmed_run = max(self.longest_unconfirmed_run, track.unconfirmed_run)
        matched_tracks, matched_poses = {r for r, _ in pairs}, {c for _, c in pairs}
        for r, track in enumerate(self._tracks):
            track.age += 1
            if r not in matched_tracks:
                track.missed += 1
        for c, pose in enumerate(poses):
            if c not in matched_poses and confirmed[c] and pose.is_person is not False:
                self._tracks.append(_TrackState(self._next_id, pose, t, confirmed_time=t))
                self._next_id += 1
        max_missed = max(1, int(round(self.config.max_missed_s * fps)))
        self._tracks = [tr for tr in self._tracks if tr.missed <= max_missed]
        return [
            (tr.track_id, tr.pose, tr.age, tr.missed)
            for tr in sorted(self._tracks, key=lambda tr: tr.track_id)
            if tr.missed <= self.config.hold_frames
        ]

    def predicted_boxes(
        self, t: float, max_missed: int, track_ids: set[int], max_unconfirmed_s: float = float("inf"),
    ) -> list[tuple[int, np.ndarray]]:
        """(track_id, box) where each of `track_ids` should be now, if it was missed for at most
        max_missed frames and a detector confirmed it at most max_unconfirmed_s seconds ago.

        The box is the extent of the track's confident 2D joints, padded like a detector box and
        moved with the track's velocity: a region in which to look for the person again.
        """
        boxes = []
        for tr in self._tracks:
            if tr.missed > max_missed or tr.track_id not in track_ids or t - tr.confirmed_time > max_unconfirmed_s:
                continue
            kp = tr.predicted_keypoints(t)
            confident = kp[kp[:, 2] >= self.config.min_confidence, :2]
            if len(confident) < 3:
                continue
            (x1, y1), (x2, y2) = confident.min(0), confident.max(0)
            pad_x, pad_y = 0.1 * (x2 - x1) + 5, 0.1 * (y2 - y1) + 5
            boxes.append((tr.track_id, np.array([x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y])))
        return boxes

    @property
    def someone_lost(self) -> bool:
        """Whether a live track was not seen in the last frame (a person to look for)."""
        return any(tr.missed > 0 for tr in self._tracks)

    @property
    def live_ids(self) -> list[int]:
        return [tr.track_id for tr in self._tracks]
