"""Windows, label sets and the training file: `fallwatch dataset build` on small real subsets."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.classes import FALLING_SEGMENT, NOT_A_FALL, class_mask, mask_names
from edge.cli import main as cli_main
from edge.features import FeatureConfig, window_features
from edge.training.clips import Clip, DatasetError, masks
from edge.training.dataset_build import build_windows, clip_to_windows, load_dataset, window_labels
from edge.training.datasets import SOURCES, iter_source, load_clips


def three_phase_clip() -> Clip:
    """4 s at 10 fps: not falling for 2 s, falling for 0.5 s, lying after."""
    times = np.arange(40) / 10
    sets = [NOT_A_FALL] * 20 + [frozenset({"fall"})] * 5 + [frozenset({"lie"})] * 15
    kp = np.zeros((40, 18, 3), np.float32)
    kp[:, :, 2] = 1.0
    return Clip("t/1", "t", "t/1", times, kp, 1.0, masks(sets), "fall", 2.0)


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (1.5, NOT_A_FALL),  # well before the fall
        (2.3, frozenset({"fall"})),  # inside the falling span
        (2.05, NOT_A_FALL | {"fall"}),  # the span (1.85, 2.05] crosses the change: both allowed
        (3.5, frozenset({"lie"})),
    ],
)
def test_window_label_is_the_union_over_the_last_label_s(end: float, expected: frozenset[str]) -> None:
    (got,) = window_labels(three_phase_clip(), np.array([end]), label_s=0.2)
    assert mask_names(got) == expected


def test_window_label_in_a_gap_takes_the_last_frame_before() -> None:
    clip = three_phase_clip()
    keep = (clip.times < 2.2) | (clip.times > 3.0)  # frames 2.2..3.0 s missing
    gappy = Clip("t/2", "t", "t/2", clip.times[keep], clip.keypoints[keep], 1.0, clip.allowed[keep], "fall")
    (got,) = window_labels(gappy, np.array([2.9]), label_s=0.2)
    assert mask_names(got) == {"fall"}


def test_clip_windows_keep_ids_and_match_the_feature_function(shared_data: Path) -> None:
    cfg = FeatureConfig()
    clip = next(c for c in iter_source("urfd_alphapose", shared_data) if isinstance(c, Clip))
    windows = clip_to_windows(clip, cfg, stride_s=0.2, label_s=0.2)
    assert len(windows) > 5
    assert windows.keypoints.shape == (len(windows), cfg.window_frames, 18, 3)
    assert set(windows.clip_id) == {clip.clip_id} and set(windows.subject) == {clip.subject}
    assert np.all(np.diff(windows.end_time) > 0)
    assert windows.allowed.any(axis=1).all()
    assert (windows.coverage > 0.9).all()  # AlphaPose has a skeleton in every frame it kept
    feats = window_features(windows.keypoints[0], float(windows.aspect[0]), cfg)
    assert feats.shape == (cfg.window_frames, cfg.num_features) and np.isfinite(feats).all()


def test_build_writes_a_loadable_file_and_reports_skips(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(shared_data / "movenet_gru", data / "movenet_gru")
    shutil.copytree(shared_data / "urfd_alphapose", data / "urfd_alphapose")
    (data / "md4fd_urfd").mkdir()
    (data / "md4fd_urfd" / "URFD_normalized.json").write_text("[[[0.5,")  # corrupt
    out = tmp_path / "out" / "ds.npz"
    argv = ["dataset", "build", "--data", str(data), "--out", str(out), "--no-progress"]
    assert cli_main([*argv, "--sources", "urfd_alphapose,md4fd_urfd,movenet_gru"]) == 0
    captured = capsys.readouterr()
    assert "URFD_normalized.json" in captured.err  # the skip names the file
    assert "fall-16: 1.67 s is shorter than one window" in captured.err
    for source in ("movenet_gru", "urfd_alphapose", "md4fd_urfd", "total"):
        assert source in captured.out

    ds = load_dataset(out)
    w = ds.windows
    n = len(w)
    assert n > 500 and set(w.source) == {"movenet_gru", "urfd_alphapose"}
    assert ds.features.shape == (n, ds.feature_config.window_frames, ds.feature_config.num_features)
    assert np.isfinite(ds.features).all() and w.allowed.shape == (n, 5) and w.allowed.any(axis=1).all()
    np.testing.assert_allclose(
        ds.features[7], window_features(w.keypoints[7], float(w.aspect[7]), ds.feature_config), atol=1e-6
    )
    assert any(s["source"] == "md4fd_urfd" for s in ds.meta["skipped"])
    assert ds.meta["feature_config"] == FeatureConfig().to_dict()
    # URFD's per-frame labels survive: some windows are exactly {fall}, some exactly {lie}
    urfd = w.allowed[w.source == "urfd_alphapose"]
    assert (urfd == class_mask(frozenset({"fall"}))).all(axis=1).any()
    assert (urfd == class_mask(frozenset({"lie"}))).all(axis=1).any()
    assert (w.allowed[w.source == "movenet_gru"] == class_mask(FALLING_SEGMENT)).all(axis=1).any()
    assert not list(out.parent.glob(".*tmp"))  # no temp file left behind


def test_unknown_source_is_refused_by_name(shared_data: Path) -> None:
    with pytest.raises(DatasetError, match="no_such_source"):
        load_clips(shared_data, ["no_such_source"])


def test_load_dataset_names_a_file_that_is_not_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"bad\.npz"):
        load_dataset(bad)


def test_short_clip_is_reported_not_windowed() -> None:
    clip = three_phase_clip()
    short = Clip("t/s", "t", "t/s", clip.times[:5], clip.keypoints[:5], 1.0, clip.allowed[:5], "adl")
    report = build_windows([short], FeatureConfig())
    assert len(report.windows) == 0 and "shorter than one window" in report.skipped[0].reason


def test_a_source_with_a_minimum_stride_gets_fewer_windows() -> None:
    clip = three_phase_clip()
    other = Clip("u/1", "u", "u/1", clip.times, clip.keypoints, 1.0, clip.allowed, "fall", 2.0)
    report = build_windows([clip, other], FeatureConfig(), stride_s=0.2, min_strides={"u": 0.6})
    ends = {s: report.windows.end_time[report.windows.source == s] for s in ("t", "u")}
    assert np.diff(ends["t"]).min() == pytest.approx(0.2) and np.diff(ends["u"]).min() == pytest.approx(0.6)
    assert len(ends["u"]) < len(ends["t"])


def test_long_recordings_and_one_subject_sources_have_minimum_strides() -> None:
    assert SOURCES["hqfsd_openpose"].min_stride_s == 1.0 and SOURCES["upfall"].min_stride_s == 0.5
    assert SOURCES["gmdcsa24"].min_stride_s is None


def test_cached_only_build_skips_unposed_videos_by_name(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    (data / "phone_falls").mkdir(parents=True)
    shutil.copy(shared_data / "phone_falls" / "Fall01.mp4", data / "phone_falls")
    argv = ["dataset", "build", "--data", str(data), "--out", str(tmp_path / "ds.npz"), "--no-progress"]
    code = cli_main([*argv, "--sources", "phone_falls", "--cached-only", "--pose-cache", str(tmp_path / "empty")])
    assert code == 1 and not (tmp_path / "ds.npz").exists()  # nothing to write, nothing half-written
    err = capsys.readouterr().err
    assert "Fall01.mp4: not in the pose cache" in err and "nothing written" in err
