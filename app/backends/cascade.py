"""The cascaded dimension-lifting network as a pose backend: crops -> one engine call -> image pixels.

All person crops of a frame go through the engine in one batch (model.net.crop cuts them with one affine
warp each); (u, v) come back in crop pixels and are mapped to image pixels with each crop's inverse
warp; joints_3d are root-relative millimetres in camera axes, as the network outputs them. The crop
is axis-aligned (no rotation), so the crop's axes are the camera's.

Confidence: each joint's is the network's own (joint_confidence: the peak mass of its 2D heatmap, see
model/net/confidence.py), and each crop's person score (person_score) says whether it holds a person at all:
every crop comes back as a PoseEstimate whose score becomes the pose's, flagged is_person=False under
person_threshold; the pipeline lets such a pose follow a person it already tracks (the score of a real
person seen from an odd angle or far away dips now and then) but never lets it start a track, so a ghost
on an empty box never appears. A card exported before the network had these outputs
still works: a joint then gets the detection's score, halved when the point falls outside its crop (an
extrapolation), and no crop is dropped.
"""

import logging
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from app.backends.base import BackendError, PoseEstimate
from model.net.crop import CropSpec, crop_to_image, cut_crops
from app.engines import Engine, EngineUnavailable, select_engine
from app.types import Detection, Frame
from export.card import CardError, read_card
from assets import ASSETS_DIR

LOG = logging.getLogger(__name__)
ASSETS = ASSETS_DIR
DEFAULT_CARD_NAME = "cascade_blazepose.card.json"  # the shipped default weights (assets/README.md)
CARD_VARIABLE = "CASCADE3D_CARD"
ENGINE_VARIABLE = "CASCADE3D_ENGINE"
# Crops whose person score is under this are not a person. Chosen on the training split of the negatives
# and the training crops (bench/eval_person_score.py, "validation"); the held-out rates are in assets/README.md.
PERSON_THRESHOLD = 0.5


def default_card_path() -> Path:
    """The bundled model card: assets/cascade_blazepose.card.json, else the only *.card.json in assets/."""
    preferred = ASSETS / DEFAULT_CARD_NAME
    if preferred.is_file():
        return preferred
    cards = sorted(ASSETS.glob("*.card.json"))
    if len(cards) == 1:
        return cards[0]
    if not cards:
        raise BackendError(
            f"{ASSETS}: no model card for the cascade backend (export one: "
            "`python main.py export CHECKPOINT --out assets`)"
        )
    raise BackendError(f"{ASSETS}: several model cards ({', '.join(c.name for c in cards)}); pass one explicitly")


class CascadeBackend:
    """PoseBackend running an exported cascaded network through the best available engine.

    card_path: a model card (export/card.py); None = $CASCADE3D_CARD, else the bundled one.
    engine: None ($CASCADE3D_ENGINE, else automatic), a runtime ('tensorrt', 'onnxruntime',
    'torch'), an engine name ('onnxruntime-cpu'), or an app.engines.Engine instance.
    device: 'auto', 'cuda' or 'cpu'. The environment variables let a user override the choice
    from any front end (GUI, `process`) that builds the backend with defaults. threads: CPU threads of
    an ONNX Runtime engine (0 = all cores; `process --ray` gives each actor its share).
    person_threshold: crops whose person score is under it are flagged not a person (networks with a person head).
    name: 'cascade/<engine>' for the status line; engine_name: the engine alone.
    """

    def __init__(self, card_path: str | os.PathLike | None = None, engine: str | Engine | None = None, device: str = "auto",
                 threads: int = 0, person_threshold: float = PERSON_THRESHOLD):
        card_path = card_path if card_path is not None else os.environ.get(CARD_VARIABLE) or None
        path = Path(card_path) if card_path is not None else default_card_path()
        engine = engine if engine is not None else os.environ.get(ENGINE_VARIABLE) or None
        try:
            self.card = read_card(path)
        except CardError as e:
            raise BackendError(str(e)) from None
        self.card_path = path
        self.person_threshold = float(person_threshold)
        self.spec = CropSpec.from_card(self.card)
        self.root = self.card.parents.index(-1)
        if isinstance(engine, Engine):
            self.engine = engine
        else:
            try:
                self.engine = select_engine(path, preference=engine, device=device, threads=threads)
            except (EngineUnavailable, CardError, ValueError) as e:
                raise BackendError(str(e)) from None
        assert self.engine.input_size == self.card.input_size, (self.engine.input_size, self.card.input_size)
        self.engine_name = self.engine.name
        self.name = f"cascade/{self.engine.name}"
        self.device = self.engine.device
        self.timings_ms: dict[str, float] = {}

    def estimate(
        self, frame: Frame, detections: Sequence[Detection]
    ) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """One (keypoints_2d (J, 3) px + confidence, joints_3d (J, 3) mm root-relative) per detection:
        a PoseEstimate with the person score and verdict where the network has one; None for non-finite output."""
        if not detections:
            return []
        started = time.perf_counter()
        boxes = np.stack([np.asarray(d.box_xyxy, dtype=np.float64) for d in detections])
        batch = cut_crops(frame.image, boxes, self.spec)
        cropped = time.perf_counter()
        out = self.engine.infer(batch.images)
        inferred = time.perf_counter()
        uv_crop = out["uvz"][..., :2].astype(np.float64)
        uv_image = crop_to_image(uv_crop, batch.to_crop)
        size = self.spec.input_size
        inside = ((uv_crop >= -0.5) & (uv_crop <= size - 0.5)).all(axis=-1)
        person = out.get("person_score")
        results: list[tuple[np.ndarray, np.ndarray] | None] = []
        for i, detection in enumerate(detections):
            joints = out["joints_3d"][i].astype(np.float64)
            joints = joints - joints[self.root]
            if "joint_confidence" in out:
                confidence = out["joint_confidence"][i].astype(np.float64)
            else:
                score = float(np.clip(detection.score, 0.0, 1.0))
                confidence = np.where(inside[i], score, 0.5 * score)
            keypoints = np.concatenate([uv_image[i], confidence[:, None]], axis=1)
            if not (np.isfinite(keypoints).all() and np.isfinite(joints).all()):
                LOG.warning("cascade: non-finite output for person %d in frame %d; skipped", i, frame.index)
                results.append(None)
                continue
            if person is None:
                results.append((keypoints, joints))
            else:  # a NaN score is not a person either
                score = float(person[i]) if np.isfinite(person[i]) else 0.0
                results.append(PoseEstimate(keypoints, joints, score, bool(score >= self.person_threshold)))
        self.timings_ms = {"crop": 1000 * (cropped - started), "engine": 1000 * (inferred - cropped)}
        return results

    def close(self) -> None:
        self.engine.close()
