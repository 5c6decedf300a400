"""The 17-joint Human3.6M skeleton used everywhere in the project (the paper's joint order)."""

from dataclasses import dataclass

# Order used by the paper and by the public 3DMPPE Human3.6M annotations.
JOINT_NAMES: tuple[str, ...] = (
    "pelvis",       # 0  root
    "r_hip",        # 1
    "r_knee",       # 2
    "r_ankle",      # 3
    "l_hip",        # 4
    "l_knee",       # 5
    "l_ankle",      # 6
    "spine",        # 7  torso, halfway pelvis-thorax
    "thorax",       # 8  neck / base of the neck
    "nose",         # 9
    "head",         # 10 top of the head
    "l_shoulder",   # 11
    "l_elbow",      # 12
    "l_wrist",      # 13
    "r_shoulder",   # 14
    "r_elbow",      # 15
    "r_wrist",      # 16
)

NUM_JOINTS = len(JOINT_NAMES)
ROOT = 0
# The elbows and wrists: the joints a pose network most often gets wrong, measured and weighted one by one.
ARM_JOINTS: tuple[str, ...] = ("l_elbow", "l_wrist", "r_elbow", "r_wrist")

# Parent of each joint (-1 for the root); parents always come before children.
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# Bones as (parent, child) pairs, the segments of the paper's Figure 3.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# Left/right joint pairs, swapped on horizontal flip.
FLIP_PAIRS: tuple[tuple[int, int], ...] = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))

# Joints on the neck-to-knee path whose bone lengths add up to the geodesic distance of
# the paper's Eq. 10 (thorax -> spine -> pelvis -> hip -> knee, averaged over both legs).
GEODESIC_MM = 1077.0


def _flip_index() -> tuple[int, ...]:
    index = list(range(NUM_JOINTS))
    for a, b in FLIP_PAIRS:
        index[a], index[b] = b, a
    return tuple(index)


FLIP_INDEX: tuple[int, ...] = _flip_index()

# Which side each bone is on, for drawing: 'l', 'r' or 'c' (centre).
BONE_SIDES: tuple[str, ...] = tuple(
    JOINT_NAMES[c][0] if JOINT_NAMES[c][:2] in ("l_", "r_") else "c" for _, c in BONES
)


@dataclass(frozen=True)
class Skeleton:
    """A named kinematic tree: joint names and the parent of each joint (-1 for the root)."""

    joint_names: tuple[str, ...] = JOINT_NAMES
    parents: tuple[int, ...] = PARENTS

    def __post_init__(self) -> None:
        assert len(self.joint_names) == len(self.parents), "one parent per joint"
        for child, parent in enumerate(self.parents):
            assert parent < child, f"parent of joint {child} must come before it"

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        return tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)

    def to_dict(self) -> dict:
        return {"joints": list(self.joint_names), "parents": list(self.parents)}

    @classmethod
    def from_dict(cls, d: dict) -> "Skeleton":
        return cls(tuple(d["joints"]), tuple(int(p) for p in d["parents"]))


H36M = Skeleton()
