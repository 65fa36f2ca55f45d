"""Frame sources: OpenCV (files, /dev/videoN, RTSP) and jetson-utils videoSource (csi://, v4l2://)."""
