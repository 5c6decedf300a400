"""One synthetic sample: people, camera, lights and background drawn at random, rendered as the target's crop with labels.

Every random number of sample i comes from numpy's generator seeded with (seed, split, i), so a rerun
makes the same sample (within one SCENE_REVISION). World frame: metres, Z up, ground at z = 0; camera frame x right, y down, z forward.

The target person stands (sits, lies) at the origin; 0-3 other people stand around, some between the
camera and the target. The camera (field of view 40-90 degrees, any height, pitch from the aim at the
person plus an offset that puts the person anywhere in the frame, roll) sees a virtual full frame; the
stored crop is the square around the target's projected mesh box, padded by PADDING (the crop a
detector box gets) times STORED_MARGIN (room for augmentation), rendered directly at crop_size px with
the crop's own intrinsics. People that would be small in the full frame are rendered at their native
size and scaled up (the low resolution a far-away person has). In a share of the samples the full
frame's edges are drawn: beyond them the crop is black, as model/net/crop.py cuts it, and joints there are not
`inside`. Labels: model/data/synth/body.py (the teacher's joint definition, teacher offsets applied).

Held-out split: bodies from a reserved phenotype region (heldout_body), DeepMimic clips HELDOUT_CLIPS
and the backgrounds appearance.HELDOUT_BACKGROUNDS; the training split never draws any of them.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from model.data.datasets.synthetic_people import STORED_MARGIN
from model.data.synth import appearance
from model.data.synth.body import PHENOTYPES, REGIONS, BodyModel, joint_frames
from model.data.synth.camera import Camera, crop_intrinsics, intrinsics, look_at, project_camera, square_box
from model.data.synth.poses import FAMILIES, BodyPose, deepmimic_to_rfu, retarget_17, rot, sample_pose
from model.data.synth.render import Body, Lighting, Renderer, occluded_by_others, person_ids
from model.data.synth.shards import ShardSample

SPLITS = {"train": 0, "heldout": 1}
# Bumped when the scenes change (more variety): recorded per sample, so a set grown over several
# revisions says which samples came from which (labels keep their meaning: see generate.LABELS_VERSION).
SCENE_REVISION = 4  # 2: frame edges cut people off (black, joints beyond not `inside`), more occluders;
# 3: statures drawn around real ones (anny's height axis reaches 2.45 m), tree.avi backgrounds, baldness on men;
# 4: eyes, iris, lips and mouth coloured (anny's UV segmentation and lips texture); 8% of people in the real
# poses of the footage (`--footage-poses`, the distillation set's triangulated 3D)
HELDOUT_CLIPS = ("dance_b", "getup_faceup")
PADDING = 1.25  # padded crop side / person box side, as model/net/crop.py and the training crops
FRAME_SIZES = ((1280, 720), (720, 1280), (640, 480), (1920, 1080), (1080, 1920))
# Pose family weights for the non-mocap share: what the footage lacks is drawn more often.
FAMILY_WEIGHTS = {"stand": 1.0, "walk": 1.0, "arms_up": 1.5, "arms_out": 1.5, "arms_forward": 1.0, "reach": 1.0,
                  "crouch": 1.2, "sit_chair": 1.0, "sit_ground": 0.8, "kneel": 1.0, "kick": 1.0, "lunge": 0.7,
                  "bend": 0.8, "lying": 0.8, "random": 1.5}
SKIN_TONES = np.array([[0.97, 0.83, 0.73], [0.90, 0.72, 0.60], [0.78, 0.57, 0.44], [0.58, 0.39, 0.27],
                       [0.36, 0.22, 0.15], [0.24, 0.15, 0.11]])  # RGB, light to dark
IRIS = {"brown": (0.25, 0.13, 0.05), "dark": (0.08, 0.05, 0.03), "blue": (0.25, 0.4, 0.6), "green": (0.3, 0.4, 0.25)}
HAIR = {"black": (0.05, 0.04, 0.04), "brown": (0.25, 0.15, 0.08), "blond": (0.75, 0.6, 0.35),
        "red": (0.55, 0.22, 0.1), "grey": (0.65, 0.65, 0.65)}


@dataclass(frozen=True)
class SceneConfig:
    """Ranges of the random scene; the defaults are the shipped generator's."""

    crop_size: int = 256
    margin: float = STORED_MARGIN
    max_others: int = 3
    others_probs: tuple[float, ...] = (0.35, 0.3, 0.2, 0.15)  # 0, 1, 2, 3 other people
    mocap_prob: float = 0.35  # share of people posed from DeepMimic frames
    fov_deg: tuple[float, float] = (40.0, 90.0)
    distance_m: tuple[float, float] = (1.5, 25.0)  # camera to the target, log-uniform
    occluder_prob: float = 0.6  # one of the others stands between the camera and the target
    effects: appearance.Effects = appearance.Effects()
    footage_prob: float = 0.08  # share of people posed from the footage's real 3D poses, when given
    frame_edge_prob: float = 0.35  # the frame's edges are drawn (black beyond; people there are cut off)


def heldout_body(p: dict) -> bool:
    """The reserved body-shape region: heavy and muscular, or small with uncommon proportions."""
    return (p["weight"] > 0.75 and p["muscle"] > 0.7) or (p["proportions"] > 0.8 and p["height"] < 0.25)


def age_group(age: float) -> str:
    """anny's age axis: 1/3 child, 2/3 young adult, 1 old (anny.models.phenotype anchors)."""
    return "child" if age < 0.5 else "teen" if age < 0.62 else "adult" if age < 0.88 else "elderly"


def sample_phenotype(rng: np.random.Generator, split: str) -> dict:
    while True:
        p = {k: float(rng.uniform(0, 1)) for k in PHENOTYPES}
        # anny's height axis is wide (an adult at 0 is 1.2-1.35 m, at 1 2.3-2.45 m; measured): draw it around
        # the middle of real statures (0.42: 1.75 m man, 1.62 m woman), extremes rarer but present.
        p["height"] = float(np.clip(rng.normal(0.42, 0.14), 0.05, 0.85))
        r = rng.random()
        p["age"] = float(rng.uniform(1 / 3, 0.55) if r < 0.15 else rng.uniform(0.55, 0.9) if r < 0.85
                         else rng.uniform(0.9, 1.0))
        if split == "heldout":
            # Draw inside the reserved region directly.
            if rng.random() < 0.5:
                p["weight"], p["muscle"] = float(rng.uniform(0.75, 1)), float(rng.uniform(0.7, 1))
            else:
                p["proportions"], p["height"] = float(rng.uniform(0.8, 1)), float(rng.uniform(0, 0.25))
            return p
        if not heldout_body(p):
            return p


def sample_clothes(rng: np.random.Generator, age: float, gender: float) -> dict:
    hair = str(rng.choice(list(HAIR) + ["bald"], p=[0.3, 0.3, 0.15, 0.05, 0.1, 0.1]))
    if age > 0.9 and rng.random() < 0.6:
        hair = "grey"
    if hair == "bald" and (gender > 0.5 or age < 0.6):  # anny's gender: 0 male .. 1 female (its anchors)
        hair = "brown"
    return {
        "shirt": _random_colour(rng), "trousers": _random_colour(rng), "shoes": _random_colour(rng, dark=True),
        "shirt_texture": bool(rng.random() < 0.4), "trousers_texture": bool(rng.random() < 0.3),
        "sleeves": str(rng.choice(["long", "short", "none"], p=[0.5, 0.4, 0.1])),
        "legwear": str(rng.choice(["long", "shorts", "skirt"], p=[0.65, 0.2, 0.15])),
        "hair": hair, "iris": str(rng.choice(list(IRIS), p=[0.45, 0.3, 0.15, 0.1])),
    }


def _random_colour(rng: np.random.Generator, dark: bool = False) -> list[float]:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(0, 255) * rng.random(), rng.uniform(20, 90 if dark else 255)]]],
                   np.float32).astype(np.uint8)
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
    return [round(float(c), 3) for c in rgb]


def skin_colour(tone: float) -> np.ndarray:
    x = tone * (len(SKIN_TONES) - 1)
    i = min(int(x), len(SKIN_TONES) - 2)
    return SKIN_TONES[i] * (1 - (x - i)) + SKIN_TONES[i + 1] * (x - i)


def vertex_colours(model: BodyModel, person: dict, textures: list[np.ndarray], rng: np.random.Generator,
                   uv: np.ndarray) -> np.ndarray:
    """(V, 3) RGB per vertex from the person's skin, hair and clothes (textures mapped by uv (V, 2) in [0, 1])."""
    c = person["clothes"]
    skin = skin_colour(person["skin_tone"]) * rng.uniform(0.93, 1.07, 3)
    region = model.vertex_region
    colours = np.zeros((len(region), 3))
    shirt = _texture_or_flat(c["shirt"], c["shirt_texture"], textures, rng, uv)
    trousers = _texture_or_flat(c["trousers"], c["trousers_texture"], textures, rng, uv)
    table = {
        "skin": skin, "hand": skin, "hair": np.asarray(HAIR.get(c["hair"], skin)) if c["hair"] != "bald" else skin,
        "shirt": shirt, "sleeve": shirt if c["sleeves"] != "none" else skin,
        "forearm": shirt if c["sleeves"] == "long" else skin, "trousers": trousers,
        "shin": trousers if c["legwear"] == "long" else skin, "shoe": np.asarray(c["shoes"]),
        "eye_white": np.array([0.88, 0.87, 0.84]), "iris": np.asarray(IRIS[c.get("iris", "brown")]),
        "lips": skin * np.array([0.85, 0.62, 0.62]), "mouth": np.array([0.3, 0.06, 0.06]),
    }
    for k, name in enumerate(REGIONS):
        value = table[name]
        sel = region == k
        colours[sel] = value[sel] if np.ndim(value) == 2 else value
    return np.clip(colours * rng.uniform(0.97, 1.03, (len(colours), 1)), 0, 1)


def _texture_or_flat(colour, textured: bool, textures, rng, uv) -> np.ndarray:
    if not textured or not textures:
        return np.asarray(colour, np.float64)
    patch = appearance.texture_patch(textures, 128, rng)[:, :, ::-1].astype(np.float64) / 255.0
    repeat = rng.uniform(1.0, 4.0)
    px = (np.mod(uv * repeat, 1.0) * 127).astype(int)
    tex = patch[px[:, 1], px[:, 0]]
    # Tint towards the garment colour so textured clothes still vary in colour.
    mix = rng.uniform(0.0, 0.6)
    return tex * (1 - mix) + np.asarray(colour) * mix


def cylinder_uv(rest_vertices: np.ndarray) -> np.ndarray:
    """(V, 2) texture coordinates: angle around the body's vertical axis and height (a cylindrical wrap)."""
    centre = rest_vertices.mean(0)
    d = rest_vertices - centre
    u = (np.arctan2(d[:, 0], d[:, 1]) / (2 * np.pi)) + 0.5
    z = rest_vertices[:, 2]
    v = (z - z.min()) / max(z.max() - z.min(), 1e-6)
    return np.stack([u, v * 3.0 % 1.0], axis=1)


class SceneMaker:
    """Makes sample i of a split; holds the body model, the renderer and the loaded images (create once)."""

    def __init__(self, split: str, seed: int, cfg: SceneConfig = SceneConfig(), mocap_cache: str = "",
                 body_model: BodyModel | None = None, footage_poses: str = "") -> None:
        from model.data.mocap import load_all

        if split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}, not '{split}'")
        self.split, self.seed, self.cfg = split, int(seed), cfg
        self.model = body_model or BodyModel()
        self.renderer = Renderer(cfg.crop_size)
        self.backgrounds = appearance.load_backgrounds(split)
        self.background_names = sorted(self.backgrounds)
        self.textures = appearance.load_textures()
        clips = load_all(mocap_cache)
        keep = [k for k in sorted(clips) if (k in HELDOUT_CLIPS) == (split == "heldout")]
        self.clips = {k: deepmimic_to_rfu(clips[k]) for k in keep}
        # Real poses of the footage (the distillation set's triangulated 3D), training split only.
        self.footage = load_footage_poses(footage_poses) if footage_poses and split == "train" else np.zeros((0, 17, 3))
        self.uv = cylinder_uv(self.model.model.template_vertices.cpu().numpy() @ np.diag([-1.0, -1.0, 1.0]))
        self.families = [f for f in FAMILY_WEIGHTS]
        w = np.array([FAMILY_WEIGHTS[f] for f in self.families])
        self.family_p = w / w.sum()

    def close(self) -> None:
        self.renderer.close()

    # ---- people ------------------------------------------------------------------------------------
    def _pose(self, rng: np.random.Generator, family: str | None = None) -> BodyPose:
        if family is not None and family not in ("mocap", "footage"):
            return sample_pose(family, rng)
        if len(self.footage) and (family == "footage" or (family is None and rng.random() < self.cfg.footage_prob)):
            i = int(rng.integers(len(self.footage)))
            pose = retarget_17(self.footage[i], source=f"distill:{i}")
            return BodyPose(rot((0, 0, 1), rng.uniform(-180, 180)) @ pose.root, pose.segments, "footage", pose.source)
        if self.clips and (family == "mocap" or rng.random() < self.cfg.mocap_prob):
            name = self.clips_names[int(rng.integers(len(self.clips_names)))]
            clip = self.clips[name]
            t = int(rng.integers(len(clip)))
            joints = clip[t].copy()
            if rng.random() < 0.5:  # mirror the motion: x -> -x and left <-> right
                from model.net.skeleton import FLIP_INDEX

                joints[:, 0] = -joints[:, 0]
                joints = joints[list(FLIP_INDEX)]
            pose = retarget_17(joints, source=f"{name}:{t}")
            return BodyPose(rot((0, 0, 1), rng.uniform(-180, 180)) @ pose.root, pose.segments, "mocap", pose.source)
        family = str(rng.choice(self.families, p=self.family_p))
        return sample_pose(family, rng)

    @property
    def clips_names(self) -> list[str]:
        return sorted(self.clips)

    def _person(self, rng: np.random.Generator, family: str | None = None) -> dict:
        p = sample_phenotype(rng, self.split)
        return {"phenotype": {k: round(v, 4) for k, v in p.items()}, "age_group": age_group(p["age"]),
                "skin_tone": round(float(rng.uniform(0, 1)), 4), "clothes": sample_clothes(rng, p["age"], p["gender"]),
                "pose_obj": self._pose(rng, family)}

    # ---- one sample --------------------------------------------------------------------------------
    def make(self, index: int, family: str | None = None) -> ShardSample:
        """Sample `index` of the split; `family` forces the target's pose family (fixtures, teacher offsets)."""
        cfg = self.cfg
        rng = np.random.default_rng([self.seed, SPLITS[self.split], int(index)])
        n_others = int(rng.choice(len(cfg.others_probs), p=cfg.others_probs))
        people = [self._person(rng, family)] + [self._person(rng) for _ in range(n_others)]
        posed = self.model.forward([p["phenotype"] for p in people], [p["pose_obj"] for p in people])
        # Everyone on the ground; the target's pelvis above the origin.
        placed = []
        for k, body in enumerate(posed):
            shift = np.array([-body.joints[0, 0], -body.joints[0, 1], -body.vertices[:, 2].min()])
            placed.append((body.vertices + shift, body.joints + shift))
        camera, cam_meta = self._camera(rng, placed[0])
        self._place_others(rng, placed, camera)
        verts = [v for v, _ in placed]
        # The crop: the target's mesh box in the full frame, padded, with a little centre jitter.
        box_pts = camera.project(verts[0])
        centre, side = square_box(box_pts, PADDING)
        person_px = side / PADDING
        centre = centre + rng.normal(0, 0.03 * side, 2)
        stored_side = side * cfg.margin
        K_crop = crop_intrinsics(camera.K, centre, stored_side, cfg.crop_size)
        crop_cam = Camera(camera.R, camera.t, K_crop, (cfg.crop_size, cfg.crop_size))
        colours = [vertex_colours(self.model, p, self.textures, rng, self.uv) for p in people]
        bodies = [Body(v, self.model.faces, c) for v, c in zip(verts, colours)]
        lighting = _lighting(rng)
        rgb = self.renderer.render(bodies, crop_cam, lighting)
        ids, rays = person_ids(bodies, crop_cam, cfg.crop_size)
        background, bg_name = self._background(rng)
        image = np.where((ids >= 0)[..., None], rgb[:, :, ::-1], background)
        effects: dict = {}
        if stored_side < cfg.crop_size * 0.9:  # far away: only this many real pixels
            small = max(16, int(round(stored_side)))
            image = cv2.resize(cv2.resize(image, (small, small), interpolation=cv2.INTER_AREA),
                               (cfg.crop_size, cfg.crop_size), interpolation=cv2.INTER_LINEAR)
            effects["low_res"] = small
        elif rng.random() < 0.5:  # lens softness: the hard rendered edges are not what cameras see
            image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 0.9))
        image, done = appearance.apply_effects(image, rng, cfg.effects)
        effects.update(done)
        # The full frame's edges: a person near them is cut off, and the crop there is black (model/net/crop.py's
        # constant border), as a top-down pipeline sees it.
        lo, hi = frame_bounds_in_crop(camera.size, centre, stored_side, cfg.crop_size)
        if rng.random() >= cfg.frame_edge_prob:  # most footage has people well inside: a frame as large as needed
            lo, hi = np.full(2, -np.inf), np.full(2, np.inf)
        grid = np.arange(cfg.crop_size)
        in_x, in_y = (grid >= lo[0]) & (grid <= hi[0]), (grid >= lo[1]) & (grid <= hi[1])
        if not (in_x.all() and in_y.all()):
            image = image * (in_y[:, None, None] & in_x[None, :, None]).astype(np.uint8)
            effects["frame_edge"] = True
        # Labels.
        joints_w = placed[0][1]
        joints_cam = camera.to_camera(joints_w)
        joints_2d = project_camera(joints_cam, K_crop)
        inside = (((joints_2d >= 0) & (joints_2d <= cfg.crop_size - 1)).all(1) & (joints_cam[:, 2] > 0)
                  & ((joints_2d >= lo) & (joints_2d <= hi)).all(1))
        occluded = occluded_by_others(rays, camera.centre, joints_w, 0, len(bodies))
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 94])
        ok2, png = cv2.imencode(".png", ((ids == 0) * 255).astype(np.uint8))
        assert ok and ok2
        labels = {
            "joints_2d": joints_2d.astype(np.float32),
            "joints_3d": ((joints_cam - joints_cam[0]) * 1000.0).astype(np.float32),
            "root_mm": (joints_cam[0] * 1000.0).astype(np.float32),
            "K": K_crop.astype(np.float32),
            "frames": np.einsum("ab,jbc->jac", camera.R, joint_frames(posed[0].segment_world)).astype(np.float32),
            "inside": inside, "occluded": occluded, "index": np.int64(index),
        }
        meta = {
            "index": int(index), "split": self.split, "revision": SCENE_REVISION,
            "people": [{**{k: v for k, v in p.items() if k != "pose_obj"},
                        "pose": {"family": p["pose_obj"].family, "source": p["pose_obj"].source},
                        "height_m": round(b.height_m, 3)} for p, b in zip(people, posed)],
            "camera": {**cam_meta, "person_px": round(float(person_px), 1)},
            "background": bg_name, "lighting": {"sun_intensity": round(lighting.sun_intensity),
                                                "ambient_intensity": round(lighting.ambient_intensity)},
            "effects": effects,
        }
        return ShardSample(jpeg.tobytes(), png.tobytes(), labels, meta)

    def _camera(self, rng: np.random.Generator, target) -> tuple[Camera, dict]:
        cfg = self.cfg
        verts, joints = target
        width, height = FRAME_SIZES[int(rng.integers(len(FRAME_SIZES)))]
        fov = float(rng.uniform(*cfg.fov_deg))
        K = intrinsics(fov, width, height)
        lo, hi = np.log(cfg.distance_m[0]), np.log(cfg.distance_m[1])
        distance = float(np.exp(rng.uniform(lo, hi)))
        r = rng.random()
        cam_h = float(rng.uniform(0.8, 2.2) if r < 0.6 else rng.uniform(2.2, 8.0) if r < 0.85 else rng.uniform(0.1, 0.8))
        centre = (verts.min(0) + verts.max(0)) / 2
        horizontal = np.sqrt(max(distance ** 2 - (cam_h - centre[2]) ** 2, 0.8 ** 2))
        azimuth = rng.uniform(0, 2 * np.pi)
        eye = np.array([centre[0] + horizontal * np.cos(azimuth), centre[1] + horizontal * np.sin(azimuth), cam_h])
        roll = float(np.clip(rng.normal(0, 10), -35, 35))
        R = look_at(eye, centre, roll)
        # Put the person anywhere in the frame: turn the camera away from them by up to 70% of the half-FOV.
        half_h = np.degrees(np.arctan(width / 2 / K[0, 0]))
        half_v = np.degrees(np.arctan(height / 2 / K[1, 1]))
        yaw_off, pitch_off = rng.uniform(-0.7, 0.7) * half_h, rng.uniform(-0.7, 0.7) * half_v
        R = rot((1, 0, 0), pitch_off) @ rot((0, 1, 0), yaw_off) @ R
        camera = Camera(R, -R @ eye, K, (width, height))
        forward = R[2]
        pitch = float(np.degrees(np.arcsin(-forward[2])))  # + looking down
        return camera, {"fov_deg": round(fov, 2), "frame": [width, height], "height_m": round(cam_h, 3),
                        "distance_m": round(float(np.linalg.norm(eye - joints[0])), 3), "pitch_deg": round(pitch, 2),
                        "roll_deg": round(roll, 2)}

    def _place_others(self, rng: np.random.Generator, placed: list, camera: Camera) -> None:
        """Move people 1.. to the ground around the target, one maybe between camera and target (in place)."""
        eye = camera.centre
        to_cam = eye[:2] / max(np.linalg.norm(eye[:2]), 1e-6)
        dist_cam = float(np.linalg.norm(eye[:2]))
        spots: list[np.ndarray] = [np.zeros(2)]
        for k in range(1, len(placed)):
            for _ in range(20):
                if k == 1 and rng.random() < self.cfg.occluder_prob and dist_cam > 1.8:
                    along = rng.uniform(0.8, min(dist_cam - 0.9, 4.0))
                    spot = to_cam * along + np.array([-to_cam[1], to_cam[0]]) * rng.uniform(-0.55, 0.55)
                else:
                    angle, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.7, 4.0)
                    spot = np.array([np.cos(angle), np.sin(angle)]) * r
                far_from_people = all(np.linalg.norm(spot - s) > 0.65 for s in spots)
                if far_from_people and np.linalg.norm(spot - eye[:2]) > 0.8:
                    break
            spots.append(spot)
            v, j = placed[k]
            shift = np.array([spot[0], spot[1], 0.0])
            placed[k] = (v + shift, j + shift)

    def _background(self, rng: np.random.Generator) -> tuple[np.ndarray, str]:
        size = self.cfg.crop_size
        if not self.background_names or rng.random() < 0.08:
            return appearance.plain_background(size, rng), "plain"
        name = self.background_names[int(rng.integers(len(self.background_names)))]
        return appearance.background_crop(self.backgrounds[name], size, rng), name


def frame_bounds_in_crop(frame_size: tuple[int, int], centre: np.ndarray, side: float,
                         crop_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The full frame's outer pixel edges (-0.5 .. W - 0.5) in crop px: (lo (2,), hi (2,)), x then y."""
    s = crop_size / side
    size = np.asarray(frame_size, np.float64)
    return s * (-0.5 - centre) + crop_size / 2, s * (size - 0.5 - centre) + crop_size / 2


def load_footage_poses(path: str) -> np.ndarray:
    """(N, 17, 3) real 3D poses from a distillation set (model/data/distill.py's train.npz: joints_3d root-relative mm,
    camera axes), only the multi-view triangulated ones (weight_3d 1), turned into x, y horizontal, z up."""
    data = np.load(path)
    keep = data["has_3d"].astype(bool) & (data["weight_3d"] >= 1.0)
    joints = data["joints_3d"][keep].astype(np.float64)
    # camera (x right, y down, z forward) -> (x, z, -y): the people stood upright in those cameras.
    return joints[..., [0, 2, 1]] * np.array([1.0, 1.0, -1.0])


def _lighting(rng: np.random.Generator) -> Lighting:
    elevation, azimuth = np.radians(rng.uniform(20, 90)), rng.uniform(0, 2 * np.pi)
    direction = -np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    tint = np.clip(1 + rng.normal(0, 0.06, 3), 0.85, 1.15)
    return Lighting(tuple(direction.tolist()), float(rng.uniform(20000, 110000)), float(rng.uniform(20000, 60000)),
                    tuple(tint.tolist()))


__all__ = ["SceneMaker", "SceneConfig", "FAMILIES", "heldout_body", "HELDOUT_CLIPS"]
