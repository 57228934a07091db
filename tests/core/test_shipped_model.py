"""The model shipped in the package (tiny128): strict loading, the `demo` command, and that it animates."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from animate_anyone.checkpoints import load_strict
from animate_anyone.cli import main
from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.data.video_io import read_video_frames, video_info
from animate_anyone.pipelines.loading import SHIPPED_MODEL_DIR, load_pipeline

COMPONENTS = ("vae", "image_encoder", "reference_net", "unet", "pose_guider")


@pytest.fixture(scope="module")
def shipped():
    pipeline = load_pipeline(None, torch.device("cpu"), torch.float32)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def test_shipped_weights_load_strictly_and_fit_the_budget(shipped):
    index = json.loads((SHIPPED_MODEL_DIR / "model_index.json").read_text())
    assert all(index[name] != [None, None] for name in COMPONENTS)
    total = 0
    for name in COMPONENTS:
        (weights,) = (SHIPPED_MODEL_DIR / name).glob("*.safetensors")
        total += weights.stat().st_size
        state = load_file(weights)
        assert {tensor.dtype for tensor in state.values()} == {torch.float16}
        load_strict(getattr(shipped, name), state, name)  # raises on any missing, extra or misshapen key
    assert total < 30e6


def test_shipped_model_carries_the_reference_and_moves_with_the_pose(shipped):
    """On a held-out character: its own reference gives frames near the rendered truth (another
    character's does not), and the frames change where the body moved between the two poses."""
    seed, other = split_seeds("test", 2, first=5)
    clip = generate_clip(seed, num_frames=33)
    picks = [8, 32]  # two poses far apart in the motion
    poses = [Image.fromarray(clip.pose_maps()[i]) for i in picks]
    truth = clip.frames[picks].astype(np.float32) / 255

    def animate(reference: np.ndarray) -> np.ndarray:
        return shipped(Image.fromarray(reference), poses, height=128, width=128, num_inference_steps=10,
                       guidance_scale=2.0, generator=torch.Generator().manual_seed(0), output_type="np").frames[0]

    frames = animate(clip.frames[0])
    with_other_reference = animate(generate_clip(other, num_frames=1).frames[0])
    assert np.abs(frames - truth).mean() < 0.5 * np.abs(with_other_reference - truth).mean()
    moved = np.abs(truth[0] - truth[1]).max(-1) > 0.1  # pixels the body crossed between the two poses
    change = np.abs(frames[0] - frames[1]).mean(-1)
    assert change[moved].mean() > 2 * change[~moved].mean()


def test_demo_writes_a_video_of_the_character_and_a_contact_sheet(tmp_path, capsys):
    output = tmp_path / "demo"
    assert main(["demo", "--output", str(output), "--frames", "4", "--steps", "4"]) == 0
    info = video_info(output / "demo.mp4")
    assert (info.num_frames, info.width, info.height) == (4, 128, 128)
    assert Image.open(output / "demo-contact-sheet.png").size == (5 * 192, 2 * 192)
    assert str(output / "demo.mp4") in capsys.readouterr().out
    video = read_video_frames(output / "demo.mp4").astype(np.float32) / 255
    truth = generate_clip(split_seeds("test", 1)[0], num_frames=4).frames.astype(np.float32) / 255
    neighbours = np.abs(np.diff(video, axis=0)).mean()
    assert neighbours < 0.05  # a moving character, not noise (noise differs by ~0.33)
    assert np.abs(video - truth).mean() < 0.07  # v2 gives 0.046 here (v1's held-out L1 was 0.114)


def test_demo_accepts_a_real_pose_video(shared_dir, tmp_path):
    pose = shared_dir / "reference" / "media" / "dance1_kps.mp4"
    assert main(["demo", "--output", str(tmp_path), "--pose", str(pose), "--frames", "2", "--steps", "2"]) == 0
    info = video_info(tmp_path / "demo.mp4")
    assert (info.num_frames, info.fps) == (2, 30.0)


@pytest.mark.parametrize("args, message", [
    (["--frames", "0"], "--frames must be at least 1"),
    (["--character", "-1"], "the test split has seeds"),
    (["--pose", "missing.mp4"], "pose input not found"),
    (["--steps", "0"], "steps"),
    (["--model", "no/such/folder"], "model folder not found"),
])
def test_demo_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    output = tmp_path / "demo"
    capsys.readouterr()
    assert main(["demo", "--output", str(output), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not output.exists()


def test_demo_refuses_a_file_as_output_folder(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    assert main(["demo", "--output", str(tmp_path / "taken")]) == 2
    assert "must be a folder" in capsys.readouterr().err


def test_animate_defaults_to_the_shipped_model(shared_dir, tmp_path):
    reference = shared_dir / "reference" / "media" / "ref_anime_woman.png"
    pose = shared_dir / "reference" / "media" / "dance2_kps.mp4"
    output = tmp_path / "out.mp4"
    assert main(["animate", "--reference", str(reference), "--pose", str(pose), "--frames", "2", "--steps", "2",
                 "--output", str(output)]) == 0
    info = video_info(output)
    assert (info.num_frames, info.width, info.height) == (2, 128, 128)
    assert main(["animate", "--reference", str(reference), "--pose", str(pose), "--width", "100",
                 "--output", str(tmp_path / "bad.mp4")]) == 2
    assert not (tmp_path / "bad.mp4").exists()
