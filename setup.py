"""FallWatch: fall detection on a Jetson (or any Linux PC) with pose, a small GRU and local alarms."""

from pathlib import Path

from setuptools import find_packages, setup

CPU = [
    "mediapipe==0.10.14",
    # mediapipe pulls jax; newer jax wants numpy 2, which mediapipe 0.10.14 cannot take.
    "jax==0.4.30",
    "jaxlib==0.4.30",
    "onnxruntime==1.32.0",
    "opencv-python-headless==4.11.0.86",
]
TRAIN = [
    "tensorflow-cpu==2.17.1",
    "onnx==1.17.0",
    "matplotlib>=3.7,<4",
]
ALERTS = [
    "apprise>=2,<3",
    "paho-mqtt>=2,<3",
]
# `fallwatch pose export`: trt_pose's weights -> ONNX on the CPU. PyPI's default torch on x86_64 pulls
# ~2.8 GB of CUDA wheels; the CPU build is enough (the Makefile installs it for the tests).
EXPORT = [
    "torch>=2.4,<3",
    "onnx==1.17.0",
    "onnxruntime>=1.16",
]
DEV = [
    "pytest>=8,<10",
    "hypothesis>=6.100,<7",
    "ruff==0.17.6",
    # drives Debian's chromium through chromedriver in the set-up page's tests
    "selenium>=4.20,<5",
]

setup(
    name="fallwatch",
    version="0.1.0",
    description="Fall detection for rooms where people live alone: pose, GRU, GPIO alarm, push alerts.",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["edge", "edge.*"]),
    install_requires=[
        "numpy>=1.24,<2",
        # the config declaration (edge/config.py): validation, the example file, the page's forms
        "pydantic>=2.7,<3",
        "protobuf>=4.25,<5",
        "tomli>=2; python_version<'3.11'",
        "tqdm>=4.60",
        *ALERTS,
    ],
    extras_require={
        "cpu": CPU,
        "train": TRAIN,
        # JetPack ships TensorRT, CUDA and OpenCV; jetson-utils is built from source by
        # install/jetson-setup.sh. No torch at run time: trt_pose runs as an ONNX-built engine.
        "jetson": ["Jetson.GPIO>=2.1", "onnxruntime>=1.16"],
        "export": EXPORT,
        "dev": DEV,
    },
    entry_points={"console_scripts": ["fallwatch = edge.cli:main"]},
    include_package_data=True,
    # The demo's video (a GMDCSA24 clip) and the licence notice that must travel with it.
    package_data={"edge": ["demo_data/*.mp4", "demo_data/LICENSE-GMDCSA24"]},
)
