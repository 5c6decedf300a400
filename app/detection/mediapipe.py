"""People boxes from MediaPipe's multi-person PoseLandmarker (the teacher's landmarker, model/data/teacher)."""

import cv2
import numpy as np

from app.detection.base import DetectorConfig, DetectorError, check_frame, select_detections
from app.types import Detection, Frame

# A 480 px INTER_AREA downscale found people more often than 640 px or full resolution (1088x1920)
# on the Pose2Sim clips (probably because MediaPipe's own resize to its 224 px detector input does
# not smooth away fine detail), and a person 40% of the frame tall stays near the landmarker's 256 px.
MEDIAPIPE_LONG_SIDE = 480


class MediaPipeDetector:
    """People boxes from MediaPipe's Tasks PoseLandmarker with num_poses = max_people.

    Each found person's box is the extent of its 33 image landmarks, padded by `padding` of the box
    height on every side (landmarks stop at the eyes and the soles; the head top sits above), and
    clipped to the frame. Score: the mean landmark visibility. detect_long_side downscales the
    frame so its longer side is at most that many pixels before MediaPipe sees it (None: full
    resolution); landmarks are normalised, so boxes come back in full-frame pixels either way.
    video_mode lets MediaPipe track people between frames (faster, steadier) and needs increasing
    timestamps: a frame whose time_s does not increase is given the last timestamp + 1 ms.
    """

    name = "mediapipe"

    def __init__(
        self,
        config: DetectorConfig = DetectorConfig(),
        detect_long_side: int | None = MEDIAPIPE_LONG_SIDE,
        video_mode: bool = True,
        padding: float = 0.1,
    ):
        from model.data.teacher import TeacherError, create_pose_landmarker

        self.config = config
        self.detect_long_side = detect_long_side
        self.video_mode = video_mode
        self.padding = padding
        try:
            self._landmarker = create_pose_landmarker(num_poses=config.max_people, video_mode=video_mode)
        except TeacherError as e:
            raise DetectorError(str(e)) from None
        self._last_ms = -1

    def detect(self, frame: Frame) -> list[Detection]:
        import mediapipe as mp

        image = check_frame(frame)
        longest = max(frame.width, frame.height)
        if self.detect_long_side is not None and longest > self.detect_long_side:
            scale = self.detect_long_side / longest
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self.video_mode:
            self._last_ms = max(self._last_ms + 1, int(round(frame.time_s * 1000)))
            result = self._landmarker.detect_for_video(mp_image, self._last_ms)
        else:
            result = self._landmarker.detect(mp_image)
        boxes, scores = [], []
        for landmarks in result.pose_landmarks:
            xy = np.array([(p.x * frame.width, p.y * frame.height) for p in landmarks])
            (x1, y1), (x2, y2) = xy.min(axis=0), xy.max(axis=0)
            pad = self.padding * (y2 - y1)
            boxes.append((x1 - pad, y1 - pad, x2 + pad, y2 + pad))
            scores.append(float(np.mean([p.visibility for p in landmarks])))
        c = self.config
        return select_detections(
            np.array(boxes).reshape(-1, 4), scores, frame.width, frame.height, c.min_score, c.nms_iou, c.max_people
        )

    def reset(self) -> None:
        """Forget the video so far (between two unrelated inputs): in video mode the landmarker follows the
        people of its last frames, so the next input's first frames would look where the last input's were."""
        if self.video_mode and self._landmarker is not None:
            from model.data.teacher import create_pose_landmarker

            self._landmarker.close()
            self._landmarker = create_pose_landmarker(num_poses=self.config.max_people, video_mode=True)
        self._last_ms = -1

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None
