"""One module per kind of source: keypoint files (keypoints.py) and videos through pose (videos.py)."""
