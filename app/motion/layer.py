"""The motion layer: per frame, every track's joints fitted to its constant bones, the floor, contact and pinning.

Input per person and frame (what the pose backends, tracker and smoother give): track_id, joints_3d
(17, 3) mm root-relative camera axes, root (3,) mm camera space, keypoints_2d (17, 3) px + confidence,
and the camera intrinsics they were placed with.
Output per person (PersonMotion): the fitted (and pinned) root-relative joints, the root placed (along
its camera ray, by the floor where the person stands on it: app.motion.support; the network's before a
floor is known), the root in the world frame (None until a floor is known), the contact flags (right,
left) and the height of the person's support above the floor.

The pose is the network's: the fit keeps every bone's direction (so every joint angle), pinning moves a
foot by a few centimetres at most and never changes a joint angle by more than a few degrees
(app.motion.contact); where feet and floor disagree by more, the placement moves the person, not the legs.

Online (live view, stream): MotionLayer() learns each track's bones and the floor as frames come.
Files: refine_tracks() runs the layer twice over a recording: once to learn every track's final bones
and the clip's floor, once to fit every frame with those, so a file's bones are constant over each
whole track and every world position uses one floor (the one written in the file).
"""

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from app.motion.bones import BoneConfig, BoneLengthEstimator, bone_lengths, bone_mask, fit_to_lengths
from app.motion.contact import ContactConfig, FootContact
from app.motion.floor import FloorConfig, FloorEstimator, WorldFrame
from app.motion.support import SupportConfig, TrackSupport
from app.types import CameraIntrinsics


@dataclass(frozen=True)
class MotionConfig:
    """The motion layer's settings."""

    bones: BoneConfig = field(default_factory=BoneConfig)
    floor: FloorConfig = field(default_factory=FloorConfig)
    contact: ContactConfig = field(default_factory=ContactConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    floor_every: int = 10  # refit the live floor every this many frames (it changes slowly; a fit costs ~1 ms)


@dataclass(frozen=True, eq=False)
class PersonInput:
    """One person in one frame, as the tracker gives it (module docstring for units and frames)."""

    track_id: int
    joints_3d: np.ndarray
    root: np.ndarray
    keypoints_2d: np.ndarray | None = None
    camera: CameraIntrinsics | None = None


@dataclass(frozen=True, eq=False)
class PersonMotion:
    """One person's motion output: joints_3d (17, 3) mm root-relative camera axes, fitted and pinned (the
    bone lengths of the track); root (3,) mm camera space, placed; world_root (3,) mm world frame or None;
    contact (2,) bool: right foot, left foot; support_mm: height above the floor of what the person stands
    on (0 on the floor or before a floor is known); on_floor: the root was placed by the floor."""

    track_id: int
    joints_3d: np.ndarray
    root: np.ndarray
    world_root: np.ndarray | None
    contact: np.ndarray
    support_mm: float = 0.0
    on_floor: bool = False


class MotionLayer:
    """Motion for all tracks of one source, frame by frame.

    fixed_lengths {track_id: (17,) mm} and fixed_world replace the online estimates (the second pass of
    refine_tracks); a track missing from fixed_lengths is estimated online. feet=False skips contact and
    pinning (refine_tracks' first pass only learns bones and the floor).
    """

    def __init__(self, config: MotionConfig = MotionConfig(), fixed_lengths: dict | None = None,
                 fixed_world: WorldFrame | None = None, feet: bool = True):
        self.config = config
        self.fixed_lengths = dict(fixed_lengths or {})
        self.fixed_world = fixed_world
        self.feet = feet
        self.floor = FloorEstimator(config.floor)
        self.world: WorldFrame | None = fixed_world
        self._bones: dict[int, BoneLengthEstimator] = {}
        self._contacts: dict[int, FootContact] = {}
        self._supports: dict[int, TrackSupport] = {}
        self._frames = 0

    def reset(self) -> None:
        self.__init__(self.config, self.fixed_lengths, self.fixed_world, self.feet)

    def lengths(self, track_id: int) -> np.ndarray | None:
        """The track's current bone lengths (17,) mm, or None if it was never seen."""
        if track_id in self.fixed_lengths:
            return np.asarray(self.fixed_lengths[track_id], dtype=np.float64)
        estimator = self._bones.get(track_id)
        return None if estimator is None else estimator.lengths

    @property
    def track_lengths(self) -> dict[int, np.ndarray]:
        return {tid: est.lengths for tid, est in self._bones.items() if est.lengths is not None}

    def forget(self, live_ids: Iterable[int]) -> None:
        """Drop the state of tracks that ended (the tracker no longer holds them)."""
        live = set(live_ids)
        for store in (self._bones, self._contacts, self._supports):
            for tid in [t for t in store if t not in live]:
                del store[tid]

    def placed_root(self, track_id: int, root: np.ndarray) -> np.ndarray:
        """(3,) a root of the track (camera mm) moved along its ray as the track's last placement moved it:
        for frames the tracker only holds the track through."""
        support = self._supports.get(track_id)
        return np.asarray(root, dtype=np.float64) * (1.0 if support is None else support.scale)

    def step(self, people: list[PersonInput], t: float) -> list[PersonMotion]:
        """One frame: t in seconds; people observed in it. Returns one PersonMotion per person, same order."""
        fitted = []
        for person in people:
            joints = np.asarray(person.joints_3d, dtype=np.float64)
            lengths = self.lengths(person.track_id)
            if person.track_id not in self.fixed_lengths and np.isfinite(joints).all():
                estimator = self._bones.setdefault(person.track_id, BoneLengthEstimator(self.config.bones))
                lengths = estimator.update(bone_lengths(joints), t, bone_mask(person.keypoints_2d))
            if lengths is not None and np.isfinite(joints).all():
                joints = fit_to_lengths(joints, lengths, self.config.bones.keep)
            fitted.append(joints)
            if self.fixed_world is None:
                self.floor.add_person(joints + np.asarray(person.root, dtype=np.float64), person.track_id)
        if self.fixed_world is None and (self.world is None or self._frames % self.config.floor_every == 0):
            self.world = self.floor.estimate()
        self._frames += 1
        out = []
        for person, joints in zip(people, fitted):
            root = np.asarray(person.root, dtype=np.float64)
            support, on_floor = 0.0, False
            if self.feet and self.world is not None and np.isfinite(joints).all() and np.isfinite(root).all():
                track_support = self._supports.setdefault(person.track_id, TrackSupport(self.config.support))
                placement = track_support(joints, root, person.keypoints_2d, person.camera, self.world, t)
                root, support, on_floor = placement.root, placement.support_mm, placement.on_floor
            if self.feet:
                contact_state = self._contacts.setdefault(person.track_id, FootContact(self.config.contact))
                absolute, contact = contact_state(joints + root, t, self.world, support)
            else:
                absolute, contact = joints + root, np.zeros(2, dtype=bool)
            root = absolute[0].copy()  # pinning may shift the whole body by a few cm: the pelvis goes with it
            world_root = None if self.world is None else self.world.to_world(root)
            out.append(PersonMotion(person.track_id, absolute - root, root, world_root, contact, support, on_floor))
        return out


def refine_tracks(frames: Callable[[], Iterator[tuple[float, list[PersonInput]]]],
                  config: MotionConfig = MotionConfig()) -> tuple[dict[int, np.ndarray], WorldFrame | None,
                                                                   Iterator[list[PersonMotion]]]:
    """Two passes over a recording: frames() yields (t, people) in frame order each time it is called.

    Returns (final bone lengths per track, the clip's floor (None if no feet were seen), an iterator of
    the second pass's outputs, one list per frame).
    """
    first = MotionLayer(config, feet=False)
    for t, people in frames():
        first.step(people, t)
    lengths = first.track_lengths
    world = first.floor.estimate()
    second = MotionLayer(config, fixed_lengths=lengths, fixed_world=world)
    return lengths, world, (second.step(people, t) for t, people in frames())
