"""`animate-anyone pose extract|render|align` end to end, and their errors (exit 2, nothing written)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from animate_anyone.cli import main
from animate_anyone.data.video_io import video_info
from animate_anyone.pose.keypoints import KeypointSequence

from pose_fixtures import skeleton_sequence


def test_extract_render_align_on_a_photo(media_dir, tmp_path, capsys):
    poses, drawing = tmp_path / "man.npz", tmp_path / "man.png"
    assert main(["pose", "extract", str(media_dir / "ref_man_photo.png"), "--output", str(poses),
                 "--render", str(drawing)]) == 0
    keypoints = KeypointSequence.load(poses)
    assert (len(keypoints), keypoints.width, keypoints.height) == (1, 622, 913)
    assert Image.open(drawing).size == (622, 913)

    video = tmp_path / "man.mp4"
    assert main(["pose", "render", str(poses), "--output", str(video), "--width", "256", "--height", "256"]) == 0
    info = video_info(video)
    assert (info.num_frames, info.width, info.height) == (1, 256, 256)

    aligned = tmp_path / "aligned.npz"
    assert main(["pose", "align", str(poses), "--reference", str(media_dir / "ref_anime_woman.png"),
                 "--output", str(aligned)]) == 0
    result = KeypointSequence.load(aligned)
    assert (result.width, result.height) == Image.open(media_dir / "ref_anime_woman.png").size
    assert "aligned to" in capsys.readouterr().out


def test_render_a_sequence_to_video(tmp_path):
    poses = skeleton_sequence(num_frames=6, fps=15).save(tmp_path / "poses.npz")
    assert main(["pose", "render", str(poses), "--output", str(tmp_path / "pose.mp4")]) == 0
    info = video_info(tmp_path / "pose.mp4")
    assert (info.num_frames, info.fps, info.width, info.height) == (6, 15, 512, 640)


def error_exit(argv, capsys) -> str:
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("animate-anyone: error: ")
    return error[-1]


def test_errors_exit_2_and_write_nothing(media_dir, tmp_path, capsys):
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((128, 128, 3), 200, np.uint8)).save(wall)
    output = tmp_path / "out.npz"
    assert "no person found" in error_exit(["pose", "extract", str(wall), "--output", str(output),
                                            "--render", str(tmp_path / "out.png")], capsys)
    (tmp_path / "broken.mp4").write_bytes(b"garbage")
    error_exit(["pose", "extract", str(tmp_path / "broken.mp4"), "--output", str(output)], capsys)
    assert "must be a .npz" in error_exit(["pose", "extract", str(wall), "--output", str(tmp_path / "o.txt")], capsys)
    assert "needs --dwpose-detector" in error_exit(
        ["pose", "extract", str(wall), "--output", str(output), "--backend", "dwpose"], capsys)

    (tmp_path / "bad.npz").write_bytes(b"x")
    error_exit(["pose", "render", str(tmp_path / "bad.npz"), "--output", str(tmp_path / "o.mp4")], capsys)
    poses = skeleton_sequence(num_frames=3).save(tmp_path / "poses.npz")
    assert "write an .mp4" in error_exit(["pose", "render", str(poses), "--output", str(tmp_path / "o.png")], capsys)
    assert "no person found" in error_exit(["pose", "align", str(poses), "--reference", str(wall),
                                            "--output", str(tmp_path / "a.npz")], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz", "broken.mp4", "poses.npz", "wall.png"]


@pytest.mark.parametrize("argv", [["pose"], ["pose", "extract"]])
def test_missing_arguments_are_usage_errors(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def run_cli(*argv: str, cwd) -> subprocess.CompletedProcess:
    """The installed command in a fresh process, so that native (fd 2) output is seen as a user sees it."""
    return subprocess.run([sys.executable, "-m", "animate_anyone.cli", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_extraction_stderr_is_one_line_or_nothing(media_dir, tmp_path):
    """The native TensorFlow Lite / abseil log lines of mediapipe's graph never reach stderr."""
    blank = tmp_path / "blank.png"
    Image.new("RGB", (256, 256), (200, 200, 200)).save(blank)
    failed = run_cli("pose", "extract", str(blank), "--output", str(tmp_path / "blank.npz"), cwd=tmp_path)
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [f"animate-anyone: error: no person found in {blank}"]

    found = run_cli("pose", "extract", str(media_dir / "ref_man_photo.png"), "--output", str(tmp_path / "man.npz"),
                    cwd=tmp_path)
    assert found.returncode == 0 and found.stderr == ""
