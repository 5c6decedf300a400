"""Real backgrounds without people, clothing textures cut from real photographs, and camera effects.

Backgrounds (none shows a person; checked by eye on a contact sheet): scikit-image's bundled sample
photographs (public domain / CC0; astronaut and camera are skipped: people), OpenCV's sample images of
Debian's opencv-doc (Apache-2.0 / BSD-3; skipped: messi5, basketball*, left*/right* calibration shots
with a person, ml, graf* graffiti figures, logos and synthetic drawings) and the median of vtest.avi's
frames (the empty street: its pedestrians move, the median keeps the scene), three frames of tree.avi. Backgrounds are split:
HELDOUT_BACKGROUNDS are never used for the training split.

Effects after compositing, each with its own probability: motion blur (a line kernel), Gaussian noise,
low resolution (people far away: rendered small and upscaled by the caller), JPEG re-encoding.
"""

import os
from dataclasses import dataclass

import cv2
import numpy as np

OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
VTEST = os.path.join(OPENCV_DATA, "vtest.avi")
TREE = os.path.join(OPENCV_DATA, "tree.avi")  # a tree through a window, 320x240, no people
TREE_FRAMES = (5, 35, 65)  # it decodes 68 frames (its header says 444)
SKIMAGE_BACKGROUNDS = ("brick.png", "chelsea.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
                       "hubble_deep_field.jpg", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
                       "page.png", "text.png", "moon.png", "color.png")
OPENCV_BACKGROUNDS = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "aloeR.jpg", "apple.jpg", "baboon.jpg", "blox.jpg",
                      "board.jpg", "box_in_scene.png", "building.jpg", "butterfly.jpg", "ela_original.jpg",
                      "fruits.jpg", "home.jpg", "leuvenA.jpg", "leuvenB.jpg", "orange.jpg", "rubberwhale1.png",
                      "rubberwhale2.png", "smarties.png", "starry_night.jpg", "stuff.jpg", "sudoku.png",
                      "squirrel_cls.jpg", "left.jpg", "right.jpg", "licenseplate_motion.jpg")
# Never seen in training: distinct scenes (a street, a portico, a café table, a garden animal, a leaf).
HELDOUT_BACKGROUNDS = ("leuvenA.jpg", "leuvenB.jpg", "home.jpg", "coffee.png", "squirrel_cls.jpg", "butterfly.jpg")
# Real textures for clothes (cut into patches): fabric-like and patterned photographs.
TEXTURE_SOURCES = ("brick.png", "grass.png", "gravel.png", "baboon.jpg", "board.jpg", "fruits.jpg", "smarties.png",
                   "starry_night.jpg", "sudoku.png", "text.png", "rubberwhale1.png", "aloeL.jpg")


@dataclass(frozen=True)
class Effects:
    """Probabilities and ranges of the camera effects."""

    motion_blur_prob: float = 0.25
    motion_blur_px: tuple[float, float] = (3.0, 15.0)  # kernel length at 256 px
    noise_prob: float = 0.4
    noise_sigma: tuple[float, float] = (2.0, 12.0)  # grey levels
    jpeg_prob: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 90)


def _skimage_dir() -> str:
    try:
        import skimage
    except ImportError:
        return ""
    return os.path.join(os.path.dirname(skimage.__file__), "data")


def background_sources() -> list[tuple[str, str]]:
    """(name, path) of every background image available on this machine (vtest.avi's median as 'vtest_median')."""
    out = []
    sk = _skimage_dir()
    for name in SKIMAGE_BACKGROUNDS:
        path = os.path.join(sk, name)
        if sk and os.path.isfile(path):
            out.append((name, path))
    for name in OPENCV_BACKGROUNDS:
        path = os.path.join(OPENCV_DATA, name)
        if os.path.isfile(path):
            out.append((name, path))
    if os.path.isfile(VTEST):
        out.append(("vtest_median", VTEST))
    for i in TREE_FRAMES:
        if os.path.isfile(TREE):
            out.append((f"tree_{i}", TREE))
    return out


def vtest_median(path: str = VTEST, frames: int = 60) -> np.ndarray | None:
    """The median of evenly spaced frames of vtest.avi: its street without the walking people (BGR uint8)."""
    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    stack = []
    for i in np.linspace(0, max(total - 1, 0), frames).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, frame = cap.read()
        if ok:
            stack.append(frame)
    cap.release()
    if not stack:
        return None
    return np.median(np.stack(stack), axis=0).astype(np.uint8)


def video_frame(path: str, index: int) -> np.ndarray | None:
    """Frame `index` of a short video, read in order (seeking fails on tree.avi)."""
    cap = cv2.VideoCapture(path)
    frame = None
    for _ in range(index + 1):
        ok, frame = cap.read()
        if not ok:
            frame = None
            break
    cap.release()
    return frame


def load_backgrounds(split: str) -> dict[str, np.ndarray]:
    """{name: BGR uint8 image} of the split's backgrounds ('train': all but the held-out ones; 'heldout': those)."""
    out = {}
    for name, path in background_sources():
        if (name in HELDOUT_BACKGROUNDS) != (split == "heldout"):
            continue
        if name == "vtest_median":
            image = vtest_median(path)
        elif name.startswith("tree_"):
            image = video_frame(path, int(name[5:]))
        else:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 64:
            out[name] = image
    return out


def load_textures() -> list[np.ndarray]:
    """BGR uint8 photographs to cut clothing patterns from (training textures; held-out sets use them too:
    textures are appearance, the held-out split is about bodies, motions and backgrounds)."""
    out = []
    sk = _skimage_dir()
    for name in TEXTURE_SOURCES:
        for folder in (sk, OPENCV_DATA):
            path = os.path.join(folder, name)
            if folder and os.path.isfile(path):
                image = cv2.imread(path, cv2.IMREAD_COLOR)
                if image is not None:
                    out.append(image)
                break
    return out


def background_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square region of a background at a random scale, flipped at random, colour-jittered; size x size."""
    h, w = image.shape[:2]
    side = int(rng.uniform(0.25, 1.0) * min(h, w))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    out = cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    gain = rng.uniform(0.6, 1.3) * rng.uniform(0.85, 1.15, 3)
    return np.clip(out.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def plain_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A flat colour with a gradient and noise (a wall, a sky)."""
    a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    image = a * (1 - t) + b * t + rng.normal(0, rng.uniform(0, 15), (size, size, 3))
    return np.clip(np.broadcast_to(image, (size, size, 3)), 0, 255).astype(np.uint8)


def apply_effects(image: np.ndarray, rng: np.random.Generator, fx: Effects) -> tuple[np.ndarray, dict]:
    """Motion blur, noise and JPEG re-encoding (each at random) on a BGR uint8 image; returns (image, what was done)."""
    done: dict = {}
    out = image
    if rng.random() < fx.motion_blur_prob:
        length = rng.uniform(*fx.motion_blur_px)
        angle = rng.uniform(0, 180)
        k = int(np.ceil(length)) | 1
        kernel = np.zeros((k, k), np.float32)
        c = k // 2
        dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
        cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
        kernel /= max(kernel.sum(), 1e-6)
        out = cv2.filter2D(out, -1, kernel, borderType=cv2.BORDER_REFLECT)
        done["motion_blur_px"] = round(float(length), 1)
    if rng.random() < fx.noise_prob:
        sigma = rng.uniform(*fx.noise_sigma)
        out = np.clip(out.astype(np.float32) + rng.normal(0, sigma, out.shape), 0, 255).astype(np.uint8)
        done["noise_sigma"] = round(float(sigma), 1)
    if rng.random() < fx.jpeg_prob:
        quality = int(rng.integers(fx.jpeg_quality[0], fx.jpeg_quality[1] + 1))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        done["jpeg_quality"] = quality
    return out, done


def texture_patch(textures: list[np.ndarray], size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square patch of a random texture photograph, size x size BGR uint8."""
    image = textures[int(rng.integers(len(textures)))]
    h, w = image.shape[:2]
    side = int(rng.uniform(0.1, 0.5) * min(h, w))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    return cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
