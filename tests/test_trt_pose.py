"""trt_pose as ONNX: the export from PyTorch (random weights, the real architecture), its parity in
ONNX Runtime, the backend in the pipeline on a real clip, and the backend's wiring of the decoder.
TensorRT itself runs only on a device (tests/test_export.py builds an engine where one is)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.config import ConfigError, PoseConfig
from edge.pose import create_pose
from edge.pose.trt_pose import preprocess
from edge.skeleton import INDEX
from edge.sources.base import Frame
from tests.support import require_torch
from tests.test_pipeline import MODEL, frame_count, run_clip
from tests.test_pose_paf import SIZE, person, render

CLIP = "gmdcsa24/Subject 2/ADL/23.mp4"  # 109 frames, 640 x 480: the shortest real clip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(weights .pth, ONNX) for seeded random weights, exported by `fallwatch pose export`."""
    require_torch()
    import torch

    from edge.pose.trt_pose_net import resnet18_baseline_att

    folder = tmp_path_factory.mktemp("trt_pose")
    torch.manual_seed(0)
    model = resnet18_baseline_att()
    for module in model.modules():  # non-trivial batch-norm statistics, so that folding them is checked too
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    weights = folder / "random.pth"
    torch.save(model.state_dict(), weights)
    onnx_path = folder / "trt_pose.onnx"
    assert cli_main(["pose", "export", str(weights), "-o", str(onnx_path)]) == 0
    return weights, onnx_path


def test_the_onnx_has_trt_poses_outputs_and_matches_pytorch(exported: tuple[Path, Path]) -> None:
    import onnxruntime as ort
    import torch

    from edge.pose.trt_pose_net import load_weights, resnet18_baseline_att

    weights, onnx_path = exported
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in session.get_inputs()] == [("input", ["batch", 3, 224, 224])]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [
        ("cmap", ["batch", 18, 56, 56]),
        ("paf", ["batch", 42, 56, 56]),
    ]
    model = resnet18_baseline_att()
    load_weights(model, weights)
    images = np.random.default_rng(7).normal(size=(3, 3, 224, 224)).astype(np.float32)
    cmap, paf = session.run(["cmap", "paf"], {"input": images})
    with torch.no_grad():
        expected = [t.numpy() for t in model(torch.from_numpy(images))]
    assert np.abs(expected[0]).max() > 1e-3 and np.abs(expected[1]).max() > 1e-3  # not trivially zero
    assert np.abs(cmap - expected[0]).max() <= 1e-4
    assert np.abs(paf - expected[1]).max() <= 1e-4
    record = json.loads(onnx_path.with_name(onnx_path.name + ".json").read_text())
    assert record["architecture"] == "resnet18_baseline_att" and record["input"] == [1, 3, 224, 224]
    assert len(record["weights_sha256"]) == 64 and record["parity_max_abs"] <= 1e-4


def test_weights_of_another_network_are_refused_by_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_torch()
    import torch

    from edge.pose.trt_pose_net import resnet18_baseline_att

    state = resnet18_baseline_att().state_dict()
    del state["1.paf_conv.weight"]
    weights = tmp_path / "partial.pth"
    torch.save(state, weights)
    assert cli_main(["pose", "export", str(weights), "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"{weights}: not resnet18_baseline_att weights" in err and "1.paf_conv.weight" in err
    assert not (tmp_path / "x.onnx").exists()
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    assert cli_main(["pose", "export", str(tmp_path / "junk.pth")]) == 2
    assert "not a PyTorch state dict" in capsys.readouterr().err


@pytest.mark.skipif(not MODEL.is_file(), reason=f"no trained model at {MODEL}")
def test_trt_pose_runs_in_the_pipeline_on_a_real_clip(
    exported: tuple[Path, Path], shared_data: Path, tmp_path: Path
) -> None:
    """Random weights find nobody, but every stage runs: decode -> trt_pose (ONNX Runtime) -> ... -> output."""
    clip = shared_data / CLIP
    overrides = [f'pose.trt_pose_model="{exported[1]}"', 'pose.trt_pose_runtime="onnxruntime"']
    pipeline, out, _ = run_clip(clip, tmp_path, overrides, pose_type="trt_pose")
    assert pipeline.summary.frames_in == pipeline.summary.frames_out == frame_count(out) == frame_count(clip)


def constant_maps_onnx(path: Path, cmap: np.ndarray, paf: np.ndarray) -> Path:
    """An ONNX with trt_pose's input and outputs that returns fixed maps whatever the image (ONNX Runtime runs it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Constant", [], ["cmap"], value=numpy_helper.from_array(cmap[None], "c")),
        helper.make_node("Constant", [], ["paf"], value=numpy_helper.from_array(paf[None], "p")),
    ]
    graph = helper.make_graph(
        nodes,
        "constant_maps",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [
            helper.make_tensor_value_info("cmap", TensorProto.FLOAT, [1, 18, SIZE, SIZE]),
            helper.make_tensor_value_info("paf", TensorProto.FLOAT, [1, 42, SIZE, SIZE]),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_the_backend_decodes_the_networks_maps_into_people(tmp_path: Path) -> None:
    truth = [person(0.3, 0.3), person(0.7, 0.85, turn_deg=-90)]
    model = constant_maps_onnx(tmp_path / "maps.onnx", *render(truth))
    pose = create_pose(PoseConfig(type="trt_pose", trt_pose_model=str(model), trt_pose_runtime="onnxruntime"))
    skeletons = pose.estimate(Frame(np.zeros((480, 640, 3), np.uint8), 0.0, 0))
    assert len(skeletons) == 2 and skeletons.aspect == pytest.approx(4 / 3)
    necks = sorted(skeletons.keypoints[:, INDEX["neck"], :2].tolist())
    assert np.abs(np.array(necks) - [[0.3, 0.3], [0.7, 0.85]]).max() <= 1 / SIZE


def test_a_missing_model_names_the_key_and_the_export_command(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=r"pose\.trt_pose_model = .*: no such file; make it with `fallwatch pose export"
    ):
        create_pose(PoseConfig(type="trt_pose", trt_pose_model=str(tmp_path / "none.onnx")))


def test_tensorrt_alone_without_tensorrt_is_refused_with_the_reason(tmp_path: Path) -> None:
    model = constant_maps_onnx(tmp_path / "maps.onnx", *render([]))
    cfg = PoseConfig(type="trt_pose", trt_pose_model=str(model), trt_pose_runtime="tensorrt")
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(
            ConfigError, match=r"pose\.trt_pose_runtime = 'tensorrt': .*tensorrt: TensorRT engines need TensorRT"
        ):
            create_pose(cfg)
    else:
        pytest.skip("TensorRT is installed here")


def test_preprocess_is_rgb_imagenet_normalised_for_colour_and_grey() -> None:
    bgr = np.zeros((480, 640, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in BGR
    data = preprocess(bgr, 224)
    assert data.shape == (1, 3, 224, 224) and data.dtype == np.float32
    assert data[0, :, 100, 100] == pytest.approx([(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225])
    grey = preprocess(np.full((240, 320), 128, np.uint8), 256)
    assert grey.shape == (1, 3, 256, 256)
    assert grey[0, 0, 5, 5] == pytest.approx((128 / 255 - 0.485) / 0.229, abs=1e-5)
