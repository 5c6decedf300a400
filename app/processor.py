"""The per-frame work of the pipeline: detect -> pose -> place -> track -> smooth -> motion, one frame at a time.

The motion step (app.motion) fits every track to its constant bones, estimates the floor and world
frame, places people along their camera rays (by the floor where they stand on it), flags foot contacts and
pins feet in contact; PersonPose keeps the network's joints as joints_3d_raw and its root as root_raw.

FrameProcessor does it synchronously; iter_results drives it over a whole source without dropping
frames (headless processing, streaming, tests). The live threading around it is app/live.py.
"""

from dataclasses import dataclass, field, replace
import time
from typing import Iterator

import numpy as np

from app.calibration import Calibration
from app.backends import BACKENDS, make_backend  # noqa: F401  (BACKENDS: the front ends list them)
from app.detection import make_default_detector
from app.detection.background import BackgroundDetector
from app.people.placement import place_root
from app.motion.bones import fit_to_lengths
from app.motion.layer import MotionConfig, MotionLayer, PersonInput
from app.people.smoothing import OneEuroConfig, PoseSmoother
from app.sources import FrameSource, LiveOptions
from app.people.tracking import Tracker, TrackerConfig
from model.boxes import best_match, box_inside_fraction, box_iou
from app.types import CameraIntrinsics, Detection, Frame, FrameResult, PersonPose, Track

TRACK_ROI_SCORE = 0.3  # score given to a region taken from a track rather than from the detector
KEYPOINT_BOX_CONFIDENCE = 0.3  # joints below this confidence do not shape a pose's box
DUPLICATE_DISTANCE = 0.2  # poses whose joints are closer than this (in body heights) are one person
DUPLICATE_IOU = 0.7  # ... or whose boxes overlap this much
DUPLICATE_INSIDE = 0.85  # ... or whose box lies this much inside the other's (part of the same body) ...
DUPLICATE_INSIDE_JOINTS = 0.3  # ... with at least this share of joints in the same place
# detect_every=0 on a CPU: every 10th frame, and at least every 0.25 s of source time (a 30 fps webcam, or live
# processing that drops frames, still gets a few detector runs a second). Between runs people are followed from
# their last pose. bench/tracking_quality.py on the 9 real clips (60 fps), frames with exactly the right people:
# every frame 95.3 %, every 3rd 94.2 %, every 6th 95.1 %, every 10th 95.9 % (0 frames with a person too many);
# a detector run costs about 90 ms on 2 cores (bench/cpu_vs_mediapipe.py).
CPU_DETECT_EVERY = 10
CPU_DETECT_MAX_INTERVAL_S = 0.25
# The extra detector runs (while a tracked person is missing, or once CPU_DETECT_MAX_INTERVAL_S has passed) come
# on every EXTRA_DETECT_EVERY-th processed frame at most, not on every frame: live processing that drops frames
# loses people between far-apart frames often, and a detector run on every such frame halved the live rate
# (bench/pipeline.py: detector on 46 of 58 live frames); in the window at 7 fps, 0.25 s alone meant every 2nd frame.
EXTRA_DETECT_EVERY = 3
CONFIRM_IOU = 0.3  # a detector box overlapping a followed person's region this much confirms that person
MIN_REGION_IN_FRAME = 0.1  # a tracked person's predicted region is looked at only while this much of it is in the frame (a
# person half out of the frame, e.g. legs below a webcam's view, is still followed)


@dataclass(frozen=True)
class PipelineConfig:
    """What to run and how; change fields with dataclasses.replace."""

    source: str = ""  # "" = camera 0, else the bundled clip; a digit = camera index; else a path
    backend: str = "cascade"  # pose backend: the shipped cascaded network, or "mediapipe" (BlazePose)
    device: str = "auto"  # 'cpu', 'cuda' or 'auto' (GPU where the backend can use one, else CPU)
    engine: str | None = None  # cascade backend runtime: None = best available, or e.g. 'onnxruntime', 'torch-cpu'

    detector: str = "mediapipe+ssdlite"  # person detector(s), app.detection.make_detector; "a+b" = union (README)
    horizontal_fov_deg: float = 60.0  # camera field of view for placement; typical webcams are 55-70
    calibration: Calibration | None = None  # --calibration: intrinsics and distortion instead of the FOV above
    live: LiveOptions = LiveOptions()  # cameras and URLs: mode asked for, time-outs, reconnect patience
    smoothing: bool = True  # One-Euro filter per joint per track
    one_euro: OneEuroConfig = field(default_factory=OneEuroConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    motion: bool = True  # constant bones per track, floor and world frame, foot contact and pinning (app.motion)
    motion_config: MotionConfig = field(default_factory=MotionConfig)
    max_people: int = 6  # people estimated per frame, largest detections first
    track_rois: bool = True  # also look where tracked people were: bridges detector misses
    track_roi_max_missed_s: float = 0.5  # stop looking for a lost person after this long
    track_roi_max_unconfirmed_s: float = 0.5  # ... or once no detector has seen them for this long (no ghosts)
    # With detect_every=0 on a CPU, True runs the detector on its own thread (app.detection.background): every
    # person is followed from their last pose, and the detector's boxes, a frame or two old when they arrive, only
    # confirm people already followed and bring in new ones; one pose-network call per frame. Off by default: on
    # 2 shared cores it did not pay (bench/cpu_vs_mediapipe.py: 0.22 vs 0.23, 0.13 vs 0.13, 0.18 vs 0.20 of
    # MediaPipe's fps on 3 clips) and tracked 94.1 instead of 94.2 % of frames right (issue 12).
    detector_thread: bool = False
    # Where the pose backend has its own person score (the cascade network's person head), a followed person it
    # judges a person counts as confirmed, as a detector's box would (FrameProcessor._confirms), so that the
    # detector could run less often. Off: with the person head of 6e52973 it tracked 89.1 % of the real clips'
    # frames right instead of 92.9 % without it (bench/tracking_quality.py --card ... --network-confirms 0|1);
    # with the shipped head (2026-12-02) 95.2 % either way (longest unconfirmed run 0-1 frames instead of
    # 9-33), but the detector runs as often, so it gains nothing yet.
    network_confirms: bool = False
    # Run the person detector on every Nth frame only, following tracked people in between; 0 = automatic:
    # every frame where the pose network runs on a GPU, every CPU_DETECT_EVERY-th (and at least every
    # CPU_DETECT_MAX_INTERVAL_S) on a CPU, where a detector run costs more than the pose network (see there).
    detect_every: int = 0
    threads: int = 0  # CPU threads of each ONNX Runtime session (detector, pose network); 0 = all cores
    loop: bool = False  # replay file sources forever (the GUI does)
    realtime: bool = False  # pace file sources at their own frame rate (the GUI does)


class FrameProcessor:
    """detect -> pose -> place -> track -> smooth, one frame at a time.

    detector/backend may be passed in (already built) to share them between runs or in tests.
    """

    def __init__(self, config: PipelineConfig, detector=None, backend=None):
        if config.detect_every < 0:
            raise ValueError(f"detect_every must be >= 0 (0 = automatic), got {config.detect_every}")
        self.config = config
        self.detector = detector or make_default_detector(config.detector, config.max_people, config.threads)
        self.backend = backend or make_backend(config.backend, config.device, config.engine, config.threads)
        self.tracker = Tracker(config.tracker)
        self.motion = MotionLayer(config.motion_config) if config.motion else None
        self._smoothers: dict[int, PoseSmoother] = {}
        self._smoothing = config.smoothing
        self._smoothing_requested = config.smoothing
        self._camera: CameraIntrinsics | None = None
        self._camera_size: tuple[int, int] | None = None
        self._frames_since_detection = 0
        self._last_detection_t: float | None = None
        self._detection_interval_s = 0.0  # source time between the last two detector runs
        on_gpu = self.backend.device == "cuda"
        self.detect_every = config.detect_every or (1 if on_gpu else CPU_DETECT_EVERY)
        automatic_cpu = config.detect_every == 0 and not on_gpu
        self._detect_max_interval_s = CPU_DETECT_MAX_INTERVAL_S if automatic_cpu else float("inf")
        self._background: BackgroundDetector | None = None
        if config.detector_thread and config.detect_every == 0 and not on_gpu and config.track_rois:
            self._background = BackgroundDetector(self.detector)
        self._last_frame_t: float | None = None
        self._frame_interval_s = 0.0  # source time between the last two processed frames (live: frames are dropped)

    @property
    def detector_thread(self) -> bool:
        """Whether the detector runs on its own thread (PipelineConfig.detector_thread)."""
        return self._background is not None

    @property
    def longest_unconfirmed_run(self) -> int:
        """Most consecutive frames any track lived on its predicted regions alone since reset()."""
        return self.tracker.longest_unconfirmed_run

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def device(self) -> str:
        return self.backend.device

    def set_smoothing(self, enabled: bool) -> None:
        """Safe to call from another thread: takes effect at the next frame."""
        self._smoothing_requested = enabled

    def reset(self) -> None:
        """Forget tracks and filters (between two unrelated inputs)."""
        self.tracker.reset()
        self._smoothers.clear()
        if self.motion is not None:
            self.motion.reset()
        self._camera = None
        self._frames_since_detection = 0
        self._last_detection_t = None
        self._detection_interval_s = 0.0
        self._last_frame_t = None
        self._frame_interval_s = 0.0
        if self._background is not None:
            self._background.wait()  # boxes of the previous input must not reach the next one
        if hasattr(self.detector, "reset"):
            # A video-mode detector follows the last input's people: without this an input's files
            # depended on the input before it (process, and the actors of process --ray, run many).
            self.detector.reset()

    def camera_for(self, frame: Frame) -> CameraIntrinsics:
        if self.config.calibration is not None:
            if self._camera_size != (frame.width, frame.height):
                self._camera = self.config.calibration.intrinsics(frame.width, frame.height)
                self._camera_size = (frame.width, frame.height)
            return self._camera
        if self._camera is None or (self._camera.cx, self._camera.cy) != (frame.width / 2, frame.height / 2):
            self._camera = CameraIntrinsics.from_fov(frame.width, frame.height, self.config.horizontal_fov_deg)
        return self._camera

    def process(self, frame: Frame, fps: float = 30.0) -> FrameResult:
        if self._smoothing_requested != self._smoothing:
            self._smoothing = self._smoothing_requested
            self._smoothers.clear()
        camera = self.camera_for(frame)
        t0 = time.perf_counter()
        if self._background is not None:
            boxes, box_confirmed = self._follow_and_detect(frame, fps)
            t1 = time.perf_counter()
            found = self._poses(frame, boxes, camera)
            poses, confirmed = self._distinct([(p, ok) for p, ok in zip(found, box_confirmed) if p is not None])
        else:
            detections = self._detect(frame)
            t1 = time.perf_counter()
            detected = self._estimate(frame, detections, camera)
            candidates = [(p, True) for p in detected]
            if self.config.track_rois:
                rois = self._track_rois(detected, frame, fps)
                candidates += [(p, False) for p in self._estimate(frame, rois, camera)]
            poses, confirmed = self._distinct(candidates)
        t2 = time.perf_counter()
        tracks = self._track_and_smooth(poses, confirmed, frame.time_s, fps)
        t3 = time.perf_counter()
        if self.motion is not None:
            tracks = self._apply_motion(tracks, frame, camera)
        t4 = time.perf_counter()
        timings = {
            "detect": (t1 - t0) * 1000,
            "pose": (t2 - t1) * 1000,
            "track": (t3 - t2) * 1000,
            "motion": (t4 - t3) * 1000,
            "total": (t4 - t0) * 1000,
        }
        if frame.captured_at:
            timings["latency"] = (t4 - frame.captured_at) * 1000
        world = self.motion.world if self.motion is not None else None
        return FrameResult(frame, tuple(tracks), camera, timings, self.backend.name, self.backend.device, world)

    def _apply_motion(self, tracks: list[Track], frame: Frame, camera: CameraIntrinsics) -> list[Track]:
        """Tracks seen this frame go through the motion layer (keypoints as placement sees them: the floor places
        people by their ankles' rays); held ones (missed > 0) only get their bones and their last placement."""
        seen = [tr for tr in tracks if tr.missed == 0]
        outputs = self.motion.step([PersonInput(tr.track_id, tr.pose.joints_3d, tr.pose.root,
                                                self._undistorted(tr.pose.keypoints_2d, frame), camera)
                                    for tr in seen], frame.time_s)
        by_id = {out.track_id: out for out in outputs}
        result = []
        for tr in tracks:
            pose = tr.pose
            raw = pose.joints_3d_raw if pose.joints_3d_raw is not None else pose.joints_3d
            root_raw = pose.root_raw if pose.root_raw is not None else pose.root
            out = by_id.get(tr.track_id) if tr.missed == 0 else None
            if out is not None:
                pose = replace(pose, joints_3d=out.joints_3d, joints_3d_raw=raw, root=out.root, root_raw=root_raw,
                               world_root=out.world_root, contact=out.contact)
            else:
                lengths = self.motion.lengths(tr.track_id)
                joints = fit_to_lengths(raw, lengths, self.motion.config.bones.keep) if lengths is not None else raw
                pose = replace(pose, joints_3d=joints, joints_3d_raw=raw, root=self.motion.placed_root(tr.track_id, root_raw),
                               root_raw=root_raw, contact=np.zeros(2, dtype=bool))
            result.append(replace(tr, pose=pose))
        self.motion.forget(self.tracker.live_ids)
        return result

    def _detect(self, frame: Frame) -> list[Detection]:
        """The detector's people on every detect_every-th frame and on every frame while nobody is tracked;
        also (on every EXTRA_DETECT_EVERY-th frame at most) while a tracked person is missing and, automatic on a
        CPU, once CPU_DETECT_MAX_INTERVAL_S of source time has passed; else none (the tracks' regions carry people)."""
        due = self._detection_due(frame.time_s)
        if not due:
            self._frames_since_detection += 1
            return []
        self._frames_since_detection = 0
        if self._last_detection_t is not None and frame.time_s > self._last_detection_t:
            self._detection_interval_s = frame.time_s - self._last_detection_t
        self._last_detection_t = frame.time_s
        return self.detector.detect(frame)[: self.config.max_people]

    def _detection_due(self, t: float) -> bool:
        """Whether the detector should look at the frame at source time t (see _detect)."""
        extra_allowed = self._frames_since_detection + 1 >= min(self.detect_every, EXTRA_DETECT_EVERY)
        overdue = self._last_detection_t is not None and t - self._last_detection_t >= self._detect_max_interval_s
        searching = self.tracker.someone_lost
        return (self._frames_since_detection + 1 >= self.detect_every or not self.tracker.live_ids
                or (extra_allowed and (overdue or searching)))

    def _follow_and_detect(self, frame: Frame, fps: float) -> tuple[list[Detection], list[bool]]:
        """With the detector on its own thread: the boxes to estimate this frame, and whether each is confirmed.

        Every followed person gets the region of their last pose (as the sync path does between detector
        runs); the detector's newest boxes, from a frame or two ago, confirm the followed people they
        overlap and add the people nobody follows yet. With nobody to follow, this frame waits for the
        detector (as the sync path would detect on it), so a person appears on the frame the detector saw.
        """
        if self._last_frame_t is not None and frame.time_s > self._last_frame_t:
            self._frame_interval_s = frame.time_s - self._last_frame_t
        self._last_frame_t = frame.time_s
        background = self._background
        found = background.take()
        due = self._detection_due(frame.time_s)
        self._frames_since_detection += 1
        if due and background.submit(frame):
            self._frames_since_detection = 0
        self._note_detection(found)
        followed = self._followed(frame, fps)
        if found is None and not followed:
            found = background.wait()
            if found is None and background.submit(frame):  # the detector was idle: detect this frame now
                self._frames_since_detection = 0
                found = background.wait()
            self._note_detection(found)
            followed = self._followed(frame, fps)
        boxes = [Detection(box, TRACK_ROI_SCORE) for _, box in followed]
        confirmed = [False] * len(boxes)
        for det in found[1][: self.config.max_people] if found is not None else []:
            best = best_match([box for _, box in followed], det.box_xyxy, CONFIRM_IOU)
            if best is not None:
                confirmed[best] = True
            else:
                boxes.append(det)
                confirmed.append(True)
        return boxes[: self.config.max_people], confirmed[: self.config.max_people]

    def _note_detection(self, found: tuple[Frame, list[Detection]] | None) -> None:
        if found is not None:
            seen, _ = found
            if self._last_detection_t is not None and seen.time_s > self._last_detection_t:
                self._detection_interval_s = seen.time_s - self._last_detection_t
            self._last_detection_t = seen.time_s

    def _followed(self, frame: Frame, fps: float) -> list[tuple[int, np.ndarray]]:
        """(track_id, region) of every person to follow now. A track must survive from one detector
        result to the next, and for a few processed frames when live processing drops many (a slow machine)."""
        max_unconfirmed = max(self.config.track_roi_max_unconfirmed_s, 1.5 * self._detection_interval_s,
                              3 * self._frame_interval_s)
        return self._regions(frame, fps, set(self.tracker.live_ids), max_unconfirmed)

    def _regions(self, frame: Frame, fps: float, track_ids: set[int],
                 max_unconfirmed_s: float) -> list[tuple[int, np.ndarray]]:
        """(track_id, predicted region) of those tracks still worth looking at in this frame: missed for at most
        track_roi_max_missed_s, confirmed within max_unconfirmed_s, and still in the frame (in_frame)."""
        max_missed = int(round(self.config.track_roi_max_missed_s * fps))
        boxes = self.tracker.predicted_boxes(frame.time_s, max_missed, track_ids, max_unconfirmed_s)
        return [(track_id, box) for track_id, box in boxes if in_frame(box, frame)]

    def _confirms(self, from_detector: bool, is_person: bool | None) -> bool:
        """Whether a pose confirms its track: app.people.tracking.

        A pose in a detector's box does, whatever the backend's person verdict; the verdict gates only new
        tracks (the tracker starts none from a pose judged not a person), so a detector's box on an empty
        wall never becomes a skeleton, while a tracked person whose score dips below the threshold now and
        then (a small person far away, half hidden behind a table) stays confirmed by the detector. With
        PipelineConfig.network_confirms, a pose judged a person also confirms where it was only followed
        (found where the track predicted it): the network's person score is the cheap check that a
        followed person is still there, so the full detector is needed only to find new people.
        """
        return from_detector or (is_person is True and self.config.network_confirms)

    def _poses(self, frame: Frame, detections: list[Detection], camera: CameraIntrinsics) -> list[PersonPose | None]:
        """One pose per box (one backend call), placed in camera space; None where the backend found none.

        A pose's box is the padded extent of its confident joints, not the detector's box: it is
        tighter where detectors merge two people, and is the same kind of box for every backend.
        Where the backend judges person-ness (PoseEstimate.is_person), the pose carries its verdict
        (PersonPose.is_person, see _confirms).
        """
        if not detections:
            return []
        poses: list[PersonPose | None] = []
        for det, estimate in zip(detections, self.backend.estimate(frame, detections)):
            if estimate is None:
                poses.append(None)
                continue
            keypoints_2d, joints_3d = estimate
            box = keypoint_box(keypoints_2d, det.box_xyxy)
            root = place_root(self._undistorted(keypoints_2d, frame), joints_3d, camera, box)
            # A backend's own person score (app.backends.base.PoseEstimate) replaces the detector's box score.
            score = float(getattr(estimate, "score", det.score))
            poses.append(PersonPose(box, keypoints_2d, joints_3d, root, score,
                                    is_person=getattr(estimate, "is_person", None)))
        return poses

    def _undistorted(self, keypoints_2d: np.ndarray, frame: Frame) -> np.ndarray:
        """(17, 3) keypoints for placement: with a calibration, the lens distortion taken out (pinhole pixels);
        the drawn and recorded keypoints stay where they are in the image."""
        if self.config.calibration is None:
            return keypoints_2d
        xy = self.config.calibration.undistort(keypoints_2d[:, :2], frame.width, frame.height)
        return np.concatenate([xy, keypoints_2d[:, 2:]], axis=1)

    def _distinct(self, candidates: list[tuple[PersonPose, bool]]) -> tuple[list[PersonPose], list[bool]]:
        """(poses, confirmed): one pose per person (remove_duplicate_poses) from (pose, found in a person
        detector's box) pairs, and whether each confirms its track (_confirms)."""
        keep = distinct_pose_indices([pose for pose, _ in candidates])
        poses = [candidates[i][0] for i in keep]
        return poses, [self._confirms(candidates[i][1], candidates[i][0].is_person) for i in keep]

    def _estimate(self, frame: Frame, detections: list[Detection], camera: CameraIntrinsics) -> list[PersonPose]:
        """Poses for the boxes (one backend call), placed in camera space, duplicates removed."""
        return remove_duplicate_poses([p for p in self._poses(frame, detections, camera) if p is not None])

    def _track_rois(self, poses: list[PersonPose], frame: Frame, fps: float) -> list[Detection]:
        """Regions where tracked people should be but no detected pose matches them.

        Person detectors miss people in some frames (unusual clothing, partial views, one box
        around two people); the pose backend, given the region where the person just was, usually
        still finds them, the way MediaPipe's own video mode follows a region between detections.
        A backend with a presence score (MediaPipe) finds nobody in an empty region; one that always
        answers (the cascade network) would follow a person who left, so a track no detector has
        confirmed for track_roi_max_unconfirmed_s is no longer followed (and such poses never start
        a track: app.people.tracking).
        """
        missing = self.tracker.unmatched_track_ids(poses, frame.time_s)
        # A track must survive from one detector run to the next, however far apart live processing puts them.
        max_unconfirmed = max(self.config.track_roi_max_unconfirmed_s, 1.5 * self._detection_interval_s)
        rois = [Detection(box, TRACK_ROI_SCORE) for _, box in self._regions(frame, fps, missing, max_unconfirmed)]
        return rois[: max(0, self.config.max_people - len(poses))]

    def _track_and_smooth(self, poses: list[PersonPose], confirmed: list[bool], t: float, fps: float) -> list[Track]:
        tracks = []
        for track_id, pose, age, missed in self.tracker.update(poses, t, fps, confirmed):
            if self._smoothing and missed == 0:
                smoother = self._smoothers.setdefault(track_id, PoseSmoother(self.config.one_euro))
                kp, joints, root = smoother(pose.keypoints_2d, pose.joints_3d, pose.root, t)
                pose = PersonPose(pose.box_xyxy, kp, joints, root, pose.score)
            tracks.append(Track(track_id, pose, age, missed, self._smoothing))
        live = set(self.tracker.live_ids)
        for track_id in list(self._smoothers):
            if track_id not in live:
                del self._smoothers[track_id]
        return tracks

    def close(self) -> None:
        # The background detector owns the detector: it stops its thread before closing it.
        for part in (self._background or self.detector, self.backend):
            close = getattr(part, "close", None)
            if close is not None:
                close()


def in_frame(box: np.ndarray, frame: Frame) -> bool:
    """Whether at least MIN_REGION_IN_FRAME of a predicted region lies in the frame. A track's region moves
    with its velocity; once it has left the frame, a network that always answers would still find a
    'person' in the black border and carry the track off-screen (seen flying to y = -2239 px on
    Pose2Sim multi-person cam04)."""
    return box_inside_fraction(np.asarray(box, np.float64), np.array([0.0, 0.0, frame.width, frame.height])) >= MIN_REGION_IN_FRAME


def keypoint_box(keypoints_2d: np.ndarray, fallback: np.ndarray, padding: float = 0.1) -> np.ndarray:
    """(4,) box around the confident joints, padded by `padding` of its size (the head top and
    feet extend past the joints); `fallback` where fewer than 3 joints are confident."""
    confident = keypoints_2d[keypoints_2d[:, 2] >= KEYPOINT_BOX_CONFIDENCE, :2]
    if len(confident) < 3:
        return fallback
    (x1, y1), (x2, y2) = confident.min(0), confident.max(0)
    pad_x, pad_y = padding * (x2 - x1) + 2, padding * (y2 - y1) + 2
    return np.array([x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y])


def pose_rank(pose: PersonPose) -> float:
    """Which of several poses of one person to keep: its score times its joints' mean confidence. A person
    head's score saturates near 1 for any box that holds a person, so alone it cannot tell a box that fits from
    one straddling two people (Pose2Sim multi-person cam04, frame 30: 0.9999997 against her own box's 0.9999952,
    and the straddling pose, kept first, took over the other person's track); its joints are less sure (0.97
    against 1.00)."""
    return float(pose.score) * float(np.mean(pose.keypoints_2d[:, 2]))


def remove_duplicate_poses(poses: list[PersonPose]) -> list[PersonPose]:
    """Keep one pose per person where two boxes (two detectors, or a detection and a track region)
    found the same one: most joints in the same place (the median, so a partial box's guessed legs do
    not hide it), boxes overlapping by DUPLICATE_IOU, or a box lying almost wholly inside a better one.
    Best first: the score times the mean joint confidence (pose_rank)."""
    return [poses[i] for i in distinct_pose_indices(poses)]


def distinct_pose_indices(poses: list[PersonPose]) -> list[int]:
    """Indices into `poses` of those remove_duplicate_poses keeps, in its order."""
    kept: list[int] = []
    for index in sorted(range(len(poses)), key=lambda i: -pose_rank(poses[i])):
        pose = poses[index]
        height = max(float(np.ptp(pose.keypoints_2d[:, 1])), 1.0)

        def same_person(other: PersonPose) -> bool:
            distances = np.linalg.norm(pose.keypoints_2d[:, :2] - other.keypoints_2d[:, :2], axis=1)
            if np.median(distances) < DUPLICATE_DISTANCE * height or box_iou(pose.box_xyxy, other.box_xyxy) > DUPLICATE_IOU:
                return True
            # A box inside another is part of the same body only where some joints coincide: a person standing
            # behind a bigger one also lies inside their box, with every joint elsewhere.
            return (box_inside_fraction(pose.box_xyxy, other.box_xyxy) > DUPLICATE_INSIDE
                    and np.quantile(distances, DUPLICATE_INSIDE_JOINTS) < DUPLICATE_DISTANCE * height)

        if not any(same_person(poses[other]) for other in kept):
            kept.append(index)
    return kept


def iter_results(processor: FrameProcessor, source: FrameSource, max_frames: int | None = None) -> Iterator[FrameResult]:
    """Every frame of `source` through `processor`, in order, none dropped."""
    for n, frame in enumerate(source):
        if max_frames is not None and n >= max_frames:
            return
        yield processor.process(frame, source.fps)
