"""BVH solve: the spine, neck and head twist follows the hips, shoulders and face, and moves no joint."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from app.formats.bvh import (HEAD_TOP, JOINT_NODES, NODE_NAMES, REST_DIRECTIONS, build_nodes, median_bone_lengths,
                             root_positions, solve_rotations)
from model.net.skeleton import JOINT_NAMES, PARENTS

J = {name: i for i, name in enumerate(JOINT_NAMES)}
LENGTHS_CM = {"r_hip": 13, "r_knee": 44, "r_ankle": 44, "l_hip": 13, "l_knee": 44, "l_ankle": 44, "spine": 23,
              "thorax": 25, "nose": 11.5, "head": 11.5, "l_shoulder": 15, "l_elbow": 28, "l_wrist": 25,
              "r_shoulder": 15, "r_elbow": 28, "r_wrist": 25}


def twisted_pose(shoulders_deg: float, head_deg: float) -> np.ndarray:
    """(17, 3) cm, BVH axes: the rest T-pose with the shoulders (arms) turned about the vertical over the
    hips and the nose and head top turned further, both about the thorax."""
    joints = np.zeros((17, 3))
    for j in range(1, 17):
        direction = np.asarray(REST_DIRECTIONS[JOINT_NAMES[j]], dtype=np.float64)
        joints[j] = joints[PARENTS[j]] + LENGTHS_CM[JOINT_NAMES[j]] * direction / np.linalg.norm(direction)
    joints += [0.0, 95.0, 0.0]
    thorax = joints[J["thorax"]].copy()
    arms = [J[n] for n in ("l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist")]
    joints[arms] = thorax + (joints[arms] - thorax) @ Rotation.from_euler("y", shoulders_deg, degrees=True).as_matrix().T
    face = [J["nose"], J["head"]]
    joints[face] = thorax + (joints[face] - thorax) @ Rotation.from_euler("y", head_deg, degrees=True).as_matrix().T
    return joints


def world_rotations(local: np.ndarray, nodes) -> dict[str, np.ndarray]:
    world: list[np.ndarray] = []
    for k, node in enumerate(nodes):
        world.append(local[k] if node.parent < 0 else world[node.parent] @ local[k])
    return {node.name: world[k] for k, node in enumerate(nodes)}


def heading_deg(rotation: np.ndarray) -> float:
    """Where the node's rest side axis (+X, the person's left) points, turned about +Y, degrees."""
    side = rotation @ [1.0, 0.0, 0.0]
    return float(np.degrees(np.arctan2(-side[2], side[0])))


def test_twist_is_shared_between_hips_shoulders_and_face():
    joints = twisted_pose(40.0, 100.0)
    nodes = build_nodes(median_bone_lengths(joints[None]))
    world = world_rotations(solve_rotations(joints[None], nodes)[0], nodes)
    assert heading_deg(world["Hips"]) == pytest.approx(0.0, abs=1e-6)
    assert heading_deg(world["Spine"]) == pytest.approx(20.0, abs=1e-6)  # a shortest arc would give 0
    assert heading_deg(world["Chest"]) == pytest.approx(40.0, abs=1e-6)
    assert 50.0 < heading_deg(world["Neck"]) < 90.0  # about halfway (the neck leans forwards)
    assert heading_deg(world["Head"]) == pytest.approx(100.0, abs=1e-6)  # the head top's End Site turns with the face


def test_twist_moves_no_joint():
    joints = twisted_pose(-30.0, 45.0)
    nodes = build_nodes(median_bone_lengths(joints[None]))
    local = solve_rotations(joints[None], nodes)
    world = world_rotations(local[0], nodes)
    positions: list[np.ndarray] = []
    for node in nodes:
        positions.append(root_positions(joints[None], nodes, local[:, 0])[0] if node.parent < 0 else
                         positions[node.parent] + world[nodes[node.parent].name] @ node.offset)
    fk = {name: positions[NODE_NAMES.index(node)] for name, node in JOINT_NODES.items()}
    head = NODE_NAMES.index(JOINT_NODES[HEAD_TOP])
    fk[HEAD_TOP] = positions[head] + world[NODE_NAMES[head]] @ nodes[head].end_site
    assert np.abs(np.array([fk[name] for name in JOINT_NAMES]) - joints).max() < 1e-9
