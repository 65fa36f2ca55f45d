"""trt_pose adapter: what can be checked without a Jetson (the model itself runs only on one)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from edge.config import PoseConfig
from edge.pose import create_pose
from edge.pose.trt_pose import input_size, preprocess
from edge.skeleton import INDEX, Skeletons


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_without_torch_the_error_names_what_to_install() -> None:
    with pytest.raises(ImportError) as info:
        create_pose(PoseConfig(type="trt_pose"))
    message = str(info.value)
    assert "torch2trt" in message and "trt_pose" in message and "jetson-setup.sh" in message
    assert "\n" not in message


def parse_objects_output(people: list[dict[str, tuple[float, float]]], max_objects: int = 100, max_peaks: int = 100):
    """Arrays shaped like trt_pose ParseObjects' (counts, objects, normalized_peaks) for one image.

    people: per person, part name -> (x, y) in [0, 1]. Peaks are stored (y, x), several people
    share each part's peak list, and unused slots stay -1 / 0 as ParseObjects leaves them.
    """
    counts = np.array([len(people)], dtype=np.int32)
    objects = np.full((1, max_objects, 18), -1, dtype=np.int32)
    peaks = np.zeros((1, 18, max_peaks, 2), dtype=np.float32)
    used = np.zeros(18, dtype=int)
    for p, person in enumerate(people):
        for name, (x, y) in person.items():
            part = INDEX[name]
            # A decoy peak first, so a person's index into the list is not simply 0.
            peaks[0, part, used[part]] = (0.99, 0.01)
            used[part] += 1
            peaks[0, part, used[part]] = (y, x)
            objects[0, p, part] = used[part]
            used[part] += 1
    return counts, objects, peaks


def test_from_trt_pose_reads_parse_objects_shaped_arrays() -> None:
    standing = {
        "nose": (0.3, 0.1),
        "left_shoulder": (0.35, 0.25),
        "right_shoulder": (0.25, 0.25),
        "left_ankle": (0.33, 0.9),
    }
    lying = {"nose": (0.8, 0.7), "neck": (0.75, 0.72), "right_hip": (0.6, 0.75)}
    counts, objects, peaks = parse_objects_output([standing, lying])
    skeletons = Skeletons.from_trt_pose(counts, objects, peaks, aspect=4 / 3)
    assert len(skeletons) == 2 and skeletons.aspect == pytest.approx(4 / 3)
    first, second = skeletons.keypoints
    assert first[INDEX["nose"]] == pytest.approx([0.3, 0.1, 1.0])  # (y, x) swapped to (x, y)
    assert first[INDEX["left_ankle"]] == pytest.approx([0.33, 0.9, 1.0])
    assert first[INDEX["neck"]] == pytest.approx([0.3, 0.25, 1.0])  # derived from the shoulders
    assert first[INDEX["left_knee"], 2] == 0.0  # not found stays missing
    assert second[INDEX["neck"]] == pytest.approx([0.75, 0.72, 1.0])  # its own neck, not derived
    assert (second[:, 2] > 0).sum() == 3


def test_from_trt_pose_with_nobody() -> None:
    counts, objects, peaks = parse_objects_output([])
    assert len(Skeletons.from_trt_pose(counts, objects, peaks, aspect=1.0)) == 0


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("resnet18_baseline_att_224x224_A_epoch_249_trt.pth", 224),
        ("densenet121_baseline_att_256x256_B_epoch_160_trt.pth", 256),
        ("my_model_trt.pth", 224),
    ],
)
def test_input_size_from_trt_pose_file_names(name: str, size: int) -> None:
    assert input_size(f"/var/lib/fallwatch/models/{name}") == size


def test_input_size_from_the_conversion_record(tmp_path: Path) -> None:
    model = tmp_path / "resnet18_baseline_att_224x224_A_epoch_249_trt.pth"
    Path(f"{model}.json").write_text('{"input": [1, 3, 256, 256], "precision": "fp16"}')
    assert input_size(str(model)) == 256  # the record wins over the name
    Path(f"{model}.json").write_text("not json")
    assert input_size(str(model)) == 224


def test_preprocess_is_rgb_imagenet_normalised_for_colour_and_grey() -> None:
    bgr = np.zeros((480, 640, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in BGR
    data = preprocess(bgr, 224)
    assert data.shape == (1, 3, 224, 224) and data.dtype == np.float32
    assert data[0, :, 100, 100] == pytest.approx([(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225])
    grey = preprocess(np.full((240, 320), 128, np.uint8), 256)
    assert grey.shape == (1, 3, 256, 256)
    assert grey[0, 0, 5, 5] == pytest.approx((128 / 255 - 0.485) / 0.229, abs=1e-5)
