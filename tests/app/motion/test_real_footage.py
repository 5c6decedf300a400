"""Issue 23 on real footage (the bundled clip, default backend): the floor decides where people stand, never how.

The network's poses of the clip go through the motion layer live (FrameResult) and as a file is refined
(refine_tracks). A second scene is built from the same real poses: the clip's people plus two copies of
the person the floor places, one 2 m further back on the floor (its network depth 15 % short) and one on
a block 1 m high; their 2D keypoints are re-projected where they now stand.
"""

import numpy as np
import pytest

from app.motion.angles import ANGLE_NAMES, every_joint_angle, joint_angles
from app.motion.bones import bone_lengths
from app.motion.layer import PersonInput, refine_tracks
from app.processor import FrameProcessor, PipelineConfig, iter_results
from app.sources import open_source

FRAMES = 60  # a second of the 60 fps clip: the woman in front stands still, the floor is found
MAX_CHANGE_DEG = 5.0  # issue 23: worst per-track median joint-angle change, fitted vs raw
KNEES = [ANGLE_NAMES.index("r_knee"), ANGLE_NAMES.index("l_knee")]


@pytest.fixture(scope="module")
def clip(sample_clip):
    """(live results' (track_id, fitted, raw joints) per frame, the network's PersonInputs per frame)."""
    processor = FrameProcessor(PipelineConfig())
    live, inputs = [], []
    try:
        for result in iter_results(processor, open_source(str(sample_clip)), FRAMES):
            seen = [t for t in result.tracks if t.missed == 0]
            live.append([(t.track_id, t.pose.joints_3d, t.pose.joints_3d_raw) for t in seen])
            inputs.append((result.frame.time_s, [PersonInput(t.track_id, t.pose.joints_3d_raw, t.pose.root_raw,
                                                             t.pose.keypoints_2d, result.camera) for t in seen]))
    finally:
        processor.close()
    return live, inputs


def _per_track(pairs) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{track_id: (fitted (N, 17, 3), raw (N, 17, 3))} from (track_id, fitted, raw) triples."""
    tracks: dict[int, list] = {}
    for track_id, fitted, raw in pairs:
        tracks.setdefault(track_id, []).append((fitted, raw))
    return {t: (np.array([f for f, _ in v]), np.array([r for _, r in v])) for t, v in tracks.items() if len(v) >= 10}


def _worst_change(fitted: np.ndarray, raw: np.ndarray) -> float:
    """Worst joint's median over frames of |angle(fitted) - angle(raw)|, degrees."""
    return float(np.nanmax(np.nanmedian(np.abs(every_joint_angle(fitted) - every_joint_angle(raw)), axis=0)))


def _refined(inputs):
    _, world, outputs = refine_tracks(lambda: iter(inputs))
    outputs = list(outputs)
    pairs = [(o.track_id, o.joints_3d, p.joints_3d) for (_, people), frame in zip(inputs, outputs)
             for p, o in zip(people, frame)]
    return world, outputs, pairs


def test_the_standing_woman_keeps_her_knees_live_and_in_files(clip):
    live, inputs = clip
    _, outputs, refined = _refined(inputs)
    for name, pairs in (("live", [p for frame in live for p in frame]), ("file", refined)):
        tracks = _per_track(pairs)
        assert len(tracks) >= 2, name
        for track_id, (fitted, raw) in tracks.items():
            assert _worst_change(fitted, raw) <= MAX_CHANGE_DEG, (name, track_id)  # measured 0-2.1; was 114-135
        # The woman in front (the track lowest in the image: the largest root y) stands almost straight.
        woman = max(tracks, key=lambda t: np.median([p.root[1] for _, people in inputs for p in people
                                                     if p.track_id == t]))
        knees = np.median(joint_angles(tracks[woman][0])[:, KNEES], axis=0)
        assert (knees > 150.0).all(), (name, knees)  # measured 163/165 (network 163/166); folded to 30 before
        # Constant bones per file track: the fit's own guarantee, kept by pinning (a shift, IK keeps lengths).
        if name == "file":
            for fitted, _ in tracks.values():
                assert np.ptp(bone_lengths(fitted), axis=0).max() < 1e-6


def test_feet_in_contact_do_not_slide(clip):
    _, inputs = clip
    world, outputs, _ = _refined(inputs)
    steps, last = [], {}
    for frame in outputs:
        for o in frame:
            ankles = world.to_world((o.joints_3d + o.root)[[3, 6]])[:, [0, 2]]
            if o.track_id in last:
                before, was = last[o.track_id]
                steps += list(np.linalg.norm(ankles - before, axis=1)[was & o.contact])
            last[o.track_id] = (ankles, o.contact)
    assert len(steps) > 50
    # bench/motion_quality measured 0.0 mm median, 0.6 p90 on its clips before issue 23. Here, with the earlier
    # default network: 0.0 and 0.0 over 128 foot-steps. The BlazePose-backbone default's feet disagree a little
    # more with both down: at an IK angle limit of 3 degrees this clip slid 2.4 mm p90; at 5 (ContactConfig,
    # 2026-12-07) 0.0 and 0.0 over 146 foot-steps (bench.motion_quality: 0.0 / 0.0 over 1,193). The weights
    # fine-tuned with hands on the head: 0.0 / 0.9 over 141 at a leash of 100 mm, 0.0 / 0.0 at 150 (ContactConfig).
    # Bound: the 0.6 mm p90.
    assert np.median(steps) <= 0.1 and np.percentile(steps, 90) <= 0.6


def test_people_at_other_depths_and_on_a_block_keep_every_joint_angle(clip):
    _, inputs = clip
    world, outputs, _ = _refined(inputs)
    # The person the floor places most often: copies of them stand where we say, so the truth is known.
    placed = {}
    for frame in outputs:
        for o in frame:
            placed[o.track_id] = placed.get(o.track_id, 0) + int(o.on_floor)
    source = max(placed, key=placed.get)
    rotation, camera = world.rotation, inputs[0][1][0].camera
    back = -rotation[2] * 2000.0  # 2 m further from the camera along the floor (world -Z in camera axes)
    up = world.normal * 1000.0  # 1 m up: a block
    truth = {}
    scene = []
    for (t, people), frame in zip(inputs, outputs):
        extra = []
        for p, o in zip(people, frame):
            if p.track_id != source:
                continue
            for track_id, move, depth_error in ((101, back, 0.85), (102, up, 1.0)):
                absolute = p.joints_3d + o.root + move  # where the copy stands (the source placed by the floor)
                uv = absolute[:, :2] / absolute[:, 2:] * [camera.fx, camera.fy] + [camera.cx, camera.cy]
                keypoints = np.concatenate([uv, p.keypoints_2d[:, 2:]], axis=1)
                truth[track_id, t] = absolute[0]
                extra.append(PersonInput(track_id, p.joints_3d, absolute[0] * depth_error, keypoints, camera))
        scene.append((t, people + extra))
    _, scene_outputs, pairs = _refined(scene)
    tracks = _per_track(pairs)
    assert {101, 102} <= set(tracks)
    for track_id, (fitted, raw) in tracks.items():
        assert _worst_change(fitted, raw) <= MAX_CHANGE_DEG, track_id
    late = [(t, o) for (t, _), frame in zip(scene, scene_outputs) for o in frame if t >= 0.5]
    further = [(t, o) for t, o in late if o.track_id == 101]
    raised = [o for _, o in late if o.track_id == 102]
    # The copy further back is moved towards the floor's depth: the floor found from the people's feet is trusted
    # as much as the network (floor_weight 0.5), so about half its 15 % depth error goes (measured 555 -> 191 mm
    # median with the earlier default network, 0.34; with the BlazePose-backbone default, 2026-12-07: 561 -> 331,
    # 0.59, its ankles giving the floor a less certain depth for the copy): 0.59 + 0.06.
    network = np.median([np.linalg.norm(0.85 * truth[101, t] - truth[101, t]) for t, _ in further])
    error = np.median([np.linalg.norm(o.root - truth[101, t]) for t, o in further])
    assert network > 400.0 and error < 0.65 * network, (network, error)
    # The copy on the block keeps its own support, about 1 m above the floor (measured 1010-1019 mm: the
    # source's feet are not exactly on the floor either), and is not pulled down.
    assert np.median([o.support_mm for o in raised]) == pytest.approx(1000.0, abs=100.0)
    assert not any(o.on_floor for o in raised)
