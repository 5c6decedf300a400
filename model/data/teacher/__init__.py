"""The MediaPipe BlazePose teacher beside the network: it labels footage for distillation, and the app's
MediaPipe backend and detector wrap it. Plain arrays in and out; no app/ types."""

from model.data.teacher.blazepose import BlazePoseCropTeacher, blazepose_to_h36m
from model.data.teacher.landmarker import TeacherError, create_pose_landmarker

__all__ = ["BlazePoseCropTeacher", "TeacherError", "blazepose_to_h36m", "create_pose_landmarker"]
