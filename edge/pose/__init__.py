"""Pose estimators: MediaPipe (any CPU), trt_pose (Jetson), recorded keypoints (replays)."""
