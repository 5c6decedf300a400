"""Fuzzing the track readers: damaged JSON and JSON Lines files give a TrackFileError or a valid result, never another
exception or a hang, and every intact frame of a partial file is recovered.

The files are real recordings (TrackRecorder on synthetic people), damaged by truncation at every byte, garbage
lines, values of the wrong type, non-UTF-8 bytes and random byte flips.
"""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.formats.recording import TrackRecorder
from app.formats.tracks_json import MAX_FRAME_INDEX, TrackFile, TrackFileError, read_series, read_tracks
from app.types import MAX_FPS, MIN_FPS, CameraIntrinsics, SourceInfo
from model.net.skeleton import NUM_JOINTS
from model.net.skeleton import PARENTS as H36M_PARENTS
from tests.app.track_fixtures import CAMERA, synthetic_results
from tests.fuzz.harness import time_limit

SOURCE = SourceInfo("clips/walk.mp4", 640, 480, 30.0, 3)
BACKEND = {"name": "synthetic", "device": "cpu", "smoothing": True}
PERSON_FIELDS = ("track_id", "bbox", "score", "keypoints_2d", "joints_3d", "root")


def _recording(folder, frames: int, people: int) -> tuple[bytes, bytes]:
    """(partial file bytes, final file bytes) of one real recording of `frames` frames."""
    recorder = TrackRecorder(folder, SOURCE, CAMERA, formats=("json",), backend_info=BACKEND, name="walk")
    for result in synthetic_results(frames, people=people, gap=(1, 2)):
        recorder.add(result)
    partial = open(recorder.partial_path, "rb").read()
    final = open(recorder.close()[0], "rb").read()
    return partial, final


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[bytes, bytes]:
    """Three frames, one person (about 3 KB): small enough to cut at every byte."""
    return _recording(tmp_path_factory.mktemp("small"), 3, 1)


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> tuple[bytes, bytes]:
    """Eight frames, two people, one of them missing in frame 1."""
    return _recording(tmp_path_factory.mktemp("medium"), 8, 2)


def assert_valid(tracks: TrackFile) -> None:
    """A read result the rest of the project can use: the documented types and shapes everywhere."""
    assert isinstance(tracks.source, SourceInfo) and isinstance(tracks.camera, CameraIntrinsics)
    assert isinstance(tracks.backend, dict)
    for frame in tracks.frames:
        assert isinstance(frame.index, int) and isinstance(frame.time_s, float)
        assert isinstance(frame.camera, CameraIntrinsics)
        for track in frame.tracks:
            assert isinstance(track.track_id, int)
            pose = track.pose
            assert pose.box_xyxy.shape == (4,) and pose.root.shape == (3,)
            assert pose.keypoints_2d.shape == (NUM_JOINTS, 3) and pose.joints_3d.shape == (NUM_JOINTS, 3)
            assert all(a.dtype == np.float64 for a in (pose.box_xyxy, pose.keypoints_2d, pose.joints_3d, pose.root))
            assert isinstance(pose.score, float)


def read(path, examples=None):
    """read_tracks and read_series on one file under the hang guard: (TrackFile, series) or the TrackFileError."""
    if examples is not None:
        examples()
    try:
        with time_limit():
            tracks = read_tracks(path)
            _, series = read_series(path)
    except TrackFileError as error:
        message = str(error)
        assert str(path) in message and "\n" not in message, message
        return error
    assert_valid(tracks)
    seen = {f.index for f in tracks.frames}
    for track in series.values():
        assert set(track.frame_indices.tolist()) <= seen
    return tracks


def frames_by_index(tracks: TrackFile) -> dict[int, object]:
    return {f.index: f for f in tracks.frames}


def assert_same_frame(a, b) -> None:
    assert a.index == b.index and a.time_s == b.time_s and len(a.tracks) == len(b.tracks)
    for ta, tb in zip(a.tracks, b.tracks):
        assert ta.track_id == tb.track_id
        np.testing.assert_array_equal(ta.pose.joints_3d, tb.pose.joints_3d)
        np.testing.assert_array_equal(ta.pose.root, tb.pose.root)


def line_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each line's content, newline excluded."""
    spans, start = [], 0
    for line in data.split(b"\n")[:-1]:
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def test_partial_file_cut_at_every_byte_keeps_every_complete_frame(tmp_path, small, examples):
    partial, _ = small
    path = tmp_path / "walk.json.partial"
    path.write_bytes(partial)
    whole = read(path)
    spans = line_spans(partial)
    assert len(whole.frames) == len(spans) - 1 == 3
    for cut in range(len(partial) + 1):
        path.write_bytes(partial[:cut])
        result = read(path, examples)
        if cut < spans[0][1]:  # the header itself is cut: not a track file any more
            assert isinstance(result, TrackFileError)
            continue
        assert isinstance(result, TrackFile), (cut, result)
        complete = sum(1 for start, end in spans[1:] if end <= cut)
        assert len(result.frames) == complete, (cut, complete, len(result.frames))
        for got, want in zip(result.frames, whole.frames):
            assert_same_frame(got, want)


def test_final_file_cut_at_every_byte_is_an_error_or_whole(tmp_path, small, examples):
    _, final = small
    path = tmp_path / "walk.json"
    path.write_bytes(final)
    whole = read(path)
    assert len(whole.frames) == 3
    for cut in range(0, len(final) + 1, 3):  # every third byte: each read parses the whole prefix
        path.write_bytes(final[:cut])
        result = read(path, examples)
        if isinstance(result, TrackFile):
            assert len(result.frames) == 3 and final[cut:].strip() == b""


# Text with no newline in it, or arbitrary bytes without one: one damaged line each.
garbage_text = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=60)
garbage_bytes = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" "))
garbage = st.one_of(garbage_text.map(lambda s: s.encode("utf-8")), garbage_bytes,
                    st.sampled_from([b"{", b"}", b"[]", b"{}", b"null", b'{"index": 1}', b"\xff\xfe",
                                     b'{"index": 2, "time": 0.1, "people": [{}]}', b"[" * 5000]))


@given(inserts=st.lists(st.tuples(st.integers(1, 9), garbage), min_size=1, max_size=4),
       tail=st.one_of(st.none(), garbage), tail_newline=st.booleans())
def test_garbage_lines_in_a_partial_file_lose_no_frame(tmp_path_factory, medium, examples, inserts, tail,
                                                       tail_newline):
    partial, _ = medium
    lines = partial.split(b"\n")[:-1]
    for position, junk in sorted(inserts, reverse=True):
        lines.insert(min(position, len(lines)), junk)
    data = b"\n".join(lines) + b"\n"
    if tail is not None:
        data += tail + (b"\n" if tail_newline else b"")
    path = tmp_path_factory.mktemp("garbage") / "walk.json.partial"
    path.write_bytes(data)
    result = read(path, examples)
    assert isinstance(result, TrackFile), result
    assert [f.index for f in result.frames] == list(range(8))


def _json_values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                        max_leaves=12)


FRAME_PATHS = [("index",), ("time",), ("people",), ("people", 0), ("camera",), ("size",)] + \
              [("people", 0, field) for field in PERSON_FIELDS] + [("people", 0, "joints_3d", 3)]


def _set(obj, path, value, delete: bool):
    for key in path[:-1]:
        obj = obj[key]
    if delete:
        if isinstance(obj, dict):
            obj.pop(path[-1], None)
        elif path[-1] < len(obj):
            del obj[path[-1]]
    else:
        obj[path[-1]] = value


@given(line=st.integers(1, 8), path=st.sampled_from(FRAME_PATHS), value=_json_values(), delete=st.booleans())
def test_wrong_types_in_one_frame_lose_no_other_frame(tmp_path_factory, medium, examples, line, path, value, delete):
    partial, _ = medium
    lines = partial.split(b"\n")[:-1]
    frame = json.loads(lines[line])
    if path[0] == "people" and len(path) > 1 and not frame["people"]:
        frame["people"] = [{}]
    _set(frame, path, value, delete)
    # allow_nan: json writes NaN / Infinity tokens, which Python's reader accepts: the reader must cope.
    lines[line] = json.dumps(frame).encode()
    folder = tmp_path_factory.mktemp("types")
    path_partial = folder / "walk.json.partial"
    path_partial.write_bytes(b"\n".join(lines) + b"\n")
    result = read(path_partial, examples)
    assert isinstance(result, TrackFile), result
    lost = {line - 1}
    if path == ("index",) and not delete and type(value) is int and line - 1 < value <= MAX_FRAME_INDEX:
        # A frame index changed to a later one is read as that frame: the frames up to it no longer come
        # after it, and are dropped as a repeated index would be (indices are kept increasing).
        lost |= set(range(line - 1, value + 1))
    assert {f.index for f in result.frames} >= set(range(8)) - lost
    # The same damage in a finished file: an error naming the file, or a valid result.
    header = json.loads(lines[0])
    header.pop("partial")
    final = folder / "walk.json"
    final.write_text(json.dumps({**header, "frames": [json.loads(x) for x in lines[1:]]}))
    read(final, examples)


HEADER_PATHS = [("format",), ("version",), ("source",), ("camera",), ("skeleton",), ("backend",),
                ("source", "width"), ("source", "fps"), ("source", "frames"), ("source", "path"),
                ("camera", "fx"), ("camera", "cy"), ("skeleton", "joints"), ("skeleton", "parents"),
                ("backend", "smoothing"), ("world",)]


@given(path=st.sampled_from(HEADER_PATHS), value=_json_values(), delete=st.booleans(), partial=st.booleans())
def test_damaged_header_is_an_error_or_valid(tmp_path_factory, medium, examples, path, value, delete, partial):
    partial_bytes, final_bytes = medium
    folder = tmp_path_factory.mktemp("header")
    if partial:
        lines = partial_bytes.split(b"\n")[:-1]
        header = json.loads(lines[0])
        _set(header, path, value, delete)
        lines[0] = json.dumps(header).encode()
        target = folder / "walk.json.partial"
        target.write_bytes(b"\n".join(lines) + b"\n")
    else:
        data = json.loads(final_bytes)
        _set(data, path, value, delete)
        target = folder / "walk.json"
        target.write_text(json.dumps(data))
    read(target, examples)


@given(damage=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
       partial=st.booleans())
def test_random_byte_damage_keeps_every_untouched_frame(tmp_path_factory, medium, examples, damage, partial):
    original = medium[0] if partial else medium[1]
    data = bytearray(original)
    touched = set()
    for offset, value in damage:
        offset %= len(data)
        data[offset] = value
        touched.add(offset)
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / ("walk.json.partial" if partial else "walk.json")
    path.write_bytes(bytes(data))
    result = read(path, examples)
    if not partial:
        return  # a finished file is one JSON document: an error or a valid result is all that can be asked
    spans = line_spans(original)
    header_end = spans[0][1] + 1
    if any(offset < header_end for offset in touched):
        return  # the header line is damaged: an error, or a still-valid header
    assert isinstance(result, TrackFile), result
    # A frame line is intact when no damaged byte lies in it or in the newlines around it (a lost
    # newline joins two lines into one damaged line).
    intact = {n - 1 for n, (start, end) in enumerate(spans)
              if n > 0 and not any(start - 1 <= o <= end for o in touched)}
    got = frames_by_index(result)
    assert intact <= set(got), (intact, sorted(got))


@given(line=st.integers(1, 8), at=st.integers(0, 10**6),
       bad=st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80\x80"]), tail=st.booleans())
def test_non_utf8_bytes_cost_only_their_own_line(tmp_path_factory, medium, examples, line, at, bad, tail):
    partial, _ = medium
    lines = partial.split(b"\n")[:-1]
    if tail:
        data = partial + bad + b"garbage" + (b"\n" if at % 2 else b"")
        expect = set(range(8))
    else:
        target = lines[line]
        at %= len(target)
        lines[line] = target[:at] + bad + target[at:]
        data = b"\n".join(lines) + b"\n"
        expect = set(range(8)) - {line - 1}
    path = tmp_path_factory.mktemp("utf8") / "walk.json.partial"
    path.write_bytes(data)
    result = read(path, examples)
    assert isinstance(result, TrackFile), result
    assert set(frames_by_index(result)) == expect


# The fields issue 26 found unchecked, each with the values a damaged or hostile file holds: frame rates of 0,
# -30, NaN, 1e-05, 2147483647; parents in any order; frame indices repeated, descending, past 2^53; a floor
# normal of NaN, infinity or zeros.
READER_FIELDS = {
    ("source", "fps"): st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**40, 2**40),
                                 st.sampled_from([0, -30, 1e-05, 2147483647, 0.999, 1, 1000, 1000.001])),
    ("skeleton", "parents"): st.one_of(st.permutations(list(H36M_PARENTS)),
                                       st.lists(st.integers(-2, NUM_JOINTS), min_size=NUM_JOINTS,
                                                max_size=NUM_JOINTS)),
    ("frames", "index"): st.one_of(st.integers(-3, 12), st.integers(MAX_FRAME_INDEX - 1, 2**60),
                                   st.sampled_from([2**53, 2**53 + 1, MAX_FRAME_INDEX, MAX_FRAME_INDEX + 1])),
    ("world", "floor"): st.fixed_dictionaries({
        "normal": st.one_of(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
                            st.sampled_from([[0, 0, 0], [0, 1e-9, 0], [0, -1, 0], [0, 1]])),
        "offset_mm": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1500.0))}),
}


def assert_fields_usable(tracks: TrackFile) -> None:
    """What a reader that returned must guarantee about those fields."""
    assert MIN_FPS <= tracks.source.fps <= MAX_FPS
    assert all(parent < child for child, parent in enumerate(tracks.skeleton.parents))
    indices = [f.index for f in tracks.frames]
    assert indices == sorted(set(indices)) and all(0 <= i <= MAX_FRAME_INDEX for i in indices)
    if tracks.world is not None:
        assert np.isfinite(tracks.world.normal).all() and abs(np.linalg.norm(tracks.world.normal) - 1) < 1e-6


@given(field=st.sampled_from(sorted(READER_FIELDS)), data=st.data(), partial=st.booleans(), frame=st.integers(0, 7))
def test_the_fields_readers_rely_on_are_an_error_or_usable(tmp_path_factory, medium, examples, field, data, partial,
                                                          frame):
    value = data.draw(READER_FIELDS[field])
    partial_bytes, final_bytes = medium
    folder = tmp_path_factory.mktemp("fields")
    if partial:
        lines = [json.loads(line) for line in partial_bytes.split(b"\n")[:-1]]
        header, frames = lines[0], lines[1:]
    else:
        whole = json.loads(final_bytes)
        header, frames = whole, whole["frames"]
    if field == ("frames", "index"):
        frames[frame]["index"] = value
    elif field == ("world", "floor"):
        header["world"] = {"floor": value, "samples": 4}
    else:
        header[field[0]][field[1]] = value
    target = folder / ("walk.json.partial" if partial else "walk.json")
    if partial:
        target.write_text("\n".join(json.dumps(x) for x in [header] + frames) + "\n")
    else:
        target.write_text(json.dumps(whole))
    result = read(target, examples)
    if isinstance(result, TrackFile):
        assert_fields_usable(result)
