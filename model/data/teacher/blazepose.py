"""BlazePose on person crops: runs the landmarker on each box's crop and maps 33 -> 17 Human3.6M joints.

BlazePose (GHUM) gives 33 landmarks in image space and 33 metric "world" landmarks in metres,
origin between the hips, axes aligned with the camera (x right, y down, z away from the camera).
Human3.6M's 17 joints are built from them as follows (documented in README):

  pelvis     = mid(left_hip 23, right_hip 24)
  r/l hip, knee, ankle = 24/23, 26/25, 28/27
  thorax     = mid(left_shoulder 11, right_shoulder 12)
  spine      = mid(pelvis, thorax)
  nose       = nose 0
  head (top) = mid(ears 7, 8) + 0.5 * (mid(ears) - thorax)   # BlazePose has no head-top point
  l/r shoulder, elbow, wrist = 11/12, 13/14, 15/16

BlazePose hips sit a little higher and wider than Human3.6M's; no correction is applied.
"""

import numpy as np

from model.boxes import box_iou, points_box
from model.net.crop import box_crop_affine
from model.net.skeleton import NUM_JOINTS
from model.data.teacher.landmarker import create_pose_landmarker

# Direct copies: H36M index -> BlazePose index.
_DIRECT = {1: 24, 2: 26, 3: 28, 4: 23, 5: 25, 6: 27, 9: 0, 11: 11, 12: 13, 13: 15, 14: 12, 15: 14, 16: 16}
HEAD_ABOVE_EARS = 0.5
CROP_SIZE = 320  # px; BlazePose's own detector and landmarker work at 224-256 px
CROP_PADDING = 1.3  # the crop is this much larger than the person box
TIGHT_CROP_PADDING = 1.0  # second try, where the first crop found nobody matching the box
MIN_CONFIDENCE = 0.3  # landmarker detection and presence thresholds inside a person crop
# A pose found in a crop belongs to the box only if their boxes overlap this much; a crop often
# holds a second, clearer person, who must not be returned for the first.
MIN_BOX_IOU = 0.3


def blazepose_to_h36m(points: np.ndarray) -> np.ndarray:
    """(33, C) BlazePose landmarks -> (17, C) Human3.6M joints; any C (x, y[, z][, conf]).

    Derived joints average their sources; a confidence column (if any) is averaged too.
    """
    assert points.ndim == 2 and points.shape[0] == 33, points.shape
    out = np.zeros((NUM_JOINTS, points.shape[1]), dtype=np.float64)
    for h36m, blaze in _DIRECT.items():
        out[h36m] = points[blaze]
    pelvis = (points[23] + points[24]) / 2
    thorax = (points[11] + points[12]) / 2
    ears = (points[7] + points[8]) / 2
    out[0] = pelvis
    out[8] = thorax
    out[7] = (pelvis + thorax) / 2
    out[10] = ears + HEAD_ABOVE_EARS * (ears - thorax)
    if points.shape[1] > 3:  # keep confidences in range: the extrapolation above is for positions
        out[10, 3:] = (ears[3:] + thorax[3:]) / 2
    return out


class BlazePoseCropTeacher:
    """One landmarker call per person box; CPU only.

    estimate(image_bgr (H, W, 3) uint8, boxes (N, 4) xyxy px) -> one (keypoints_2d (17, 3) px + confidence,
    joints_3d (17, 3) mm camera axes root-relative) per box, or None where nobody matching the box was found.
    """

    def __init__(self, crop_size: int = CROP_SIZE, crop_padding: float = CROP_PADDING):
        self.crop_size = crop_size
        self.crop_padding = crop_padding
        # Two poses per crop so that, where people overlap, the one matching the box can be chosen.
        # The crop already comes from a person box, so a lower confidence than MediaPipe's 0.5
        # keeps partly hidden people; the box-overlap check rejects the rest.
        self._landmarker = create_pose_landmarker(
            num_poses=2, min_detection_confidence=MIN_CONFIDENCE, min_presence_confidence=MIN_CONFIDENCE
        )

    def estimate(self, image_bgr: np.ndarray, boxes_xyxy) -> list[tuple[np.ndarray, np.ndarray] | None]:
        import cv2
        import mediapipe as mp

        results = []
        for box in boxes_xyxy:
            box = np.asarray(box, dtype=np.float64)
            # Where another person fills most of the padded crop, the landmarker may find only
            # them; a tight crop around the box leaves less of them in view.
            for padding in (self.crop_padding, TIGHT_CROP_PADDING):
                affine = box_crop_affine(box, padding, self.crop_size)
                crop = cv2.warpAffine(image_bgr, affine, (self.crop_size, self.crop_size),
                                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)
                found = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
                pose = self._pick(found, box, affine)
                if pose is not None:
                    break
            results.append(pose)
        return results

    def _pick(self, found, box: np.ndarray, affine: np.ndarray):
        """The found pose whose landmark box overlaps `box` most, in frame coordinates."""
        inverse = np.linalg.inv(np.vstack([affine, [0, 0, 1]]))[:2]
        best, best_iou = None, MIN_BOX_IOU
        for landmarks, world in zip(found.pose_landmarks, found.pose_world_landmarks):
            crop_px = np.array([[p.x * self.crop_size, p.y * self.crop_size] for p in landmarks])
            frame_px = crop_px @ inverse[:, :2].T + inverse[:, 2]
            conf = np.array([p.visibility if p.visibility is not None else 1.0 for p in landmarks])
            overlap = box_iou(points_box(frame_px), box)
            if overlap > best_iou:
                kp = blazepose_to_h36m(np.column_stack([frame_px, conf]))
                xyz = blazepose_to_h36m(np.array([[p.x, p.y, p.z] for p in world])) * 1000.0
                best, best_iou = (kp, xyz - xyz[0]), overlap
        return best

    def close(self) -> None:
        self._landmarker.close()
