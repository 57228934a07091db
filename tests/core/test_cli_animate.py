"""`animate-anyone animate`: a video from the tiny random model, and one clear line for bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from animate_anyone.cli import main
from animate_anyone.data.video_io import iter_video_frames, video_info, write_video
from animate_anyone.testing import tiny_pipeline, write_png_header


@pytest.fixture
def inputs(tmp_path, shared_dir):
    reference = shared_dir / "reference" / "media" / "ref_anime_woman.png"
    poses = tmp_path / "poses"
    poses.mkdir()
    for index in range(3):
        image = np.zeros((64, 48, 3), np.uint8)
        image[8 + 4 * index: 40, 20:28] = (255, 0, 85)
        Image.fromarray(image).save(poses / f"{index:03d}.png")
    return reference, poses


def animate_args(reference, pose, output, *extra):
    return ["animate", "--reference", str(reference), "--pose", str(pose), "--model", "tiny-random",
            "--output", str(output), "--width", "32", "--height", "48", "--steps", "2", *extra]


def test_animate_writes_video_from_pose_folder(inputs, tmp_path, capsys):
    reference, poses = inputs
    output = tmp_path / "out.mp4"
    sheet = tmp_path / "sheet.png"
    assert main(animate_args(reference, poses, output, "--fps", "12", "--contact-sheet", str(sheet))) == 0
    info = video_info(output)
    assert (info.num_frames, info.width, info.height, info.fps) == (3, 32, 48, 12.0)
    assert Image.open(sheet).size == (4 * 128, 2 * 192)  # reference + 3 frames, 32x48 cells scaled to 192 high
    assert "wrote" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_animate_reads_pose_video_and_keeps_its_fps(shared_dir, tmp_path):
    media = shared_dir / "reference" / "media"
    output = tmp_path / "dance.mp4"
    args = animate_args(media / "ref_man_photo.png", media / "dance2_kps.mp4", output, "--frames", "5",
                        "--context-frames", "4", "--context-overlap", "1")
    assert main(args) == 0
    info = video_info(output)
    assert (info.num_frames, info.fps) == (5, 30.0)


@pytest.mark.parametrize("extra", [["--scheduler", "dpm++2m", "--dtype", "auto"], ["--scheduler", "euler"]])
def test_animate_with_another_scheduler_and_dtype(inputs, tmp_path, extra):
    reference, poses = inputs
    output = tmp_path / "out.mp4"
    assert main(animate_args(reference, poses, output, *extra)) == 0
    assert video_info(output).num_frames == 3


def test_defaults_auto_dtype_recorded_as_run_and_weights_on_demand_for_folders_on_the_cpu(inputs, tmp_path):
    from animate_anyone.cli.animate import weights_on_demand
    from animate_anyone.provenance.label import read_label
    from animate_anyone.runtime import auto_dtype, dtype_name

    reference, poses = inputs
    output = tmp_path / "out.mp4"
    assert main(animate_args(reference, poses, output)) == 0
    assert read_label(output)["settings"]["dtype"] == dtype_name(auto_dtype(torch.device("cpu")))
    cpu, folder = torch.device("cpu"), str(tmp_path)
    assert weights_on_demand(Namespace(low_memory=None, model=folder), cpu)
    assert weights_on_demand(Namespace(low_memory=None, model=None), cpu)  # the shipped model's folder
    assert not weights_on_demand(Namespace(low_memory=None, model="tiny-random"), cpu)
    assert not weights_on_demand(Namespace(low_memory=None, model=folder), torch.device("cuda"))
    assert not weights_on_demand(Namespace(low_memory=False, model=folder), cpu)


def test_vae_tiling_is_recorded_and_tiles_the_decode(inputs, tmp_path, monkeypatch):
    from diffusers import AutoencoderKL

    from animate_anyone.provenance.label import read_label

    tiled_decodes, tiled_decode = [], AutoencoderKL.tiled_decode
    monkeypatch.setattr(AutoencoderKL, "tiled_decode",
                        lambda self, z, **kwargs: tiled_decodes.append(z.shape) or tiled_decode(self, z, **kwargs))
    reference, poses = inputs
    output = tmp_path / "out.mp4"
    assert main(animate_args(reference, poses, output, "--vae-tiling")) == 0  # 48 px: over the tiny VAE's 32 px tile
    assert read_label(output)["settings"]["vae_tiling"] is True and tiled_decodes


def test_compile_compiles_the_denoising_unet_in_place(inputs, tmp_path, monkeypatch):
    from animate_anyone.models.motion_unet import AnimateAnyoneUNet

    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kwargs: compiled.append(type(self)))
    reference, poses = inputs
    assert main(animate_args(reference, poses, tmp_path / "out.mp4", "--compile")) == 0
    assert len(compiled) == 1 and issubclass(compiled[0], AnimateAnyoneUNet)


def test_animate_with_feature_reuse_records_it_in_the_label(inputs, tmp_path):
    from animate_anyone.provenance.label import read_label

    reference, poses = inputs
    outputs = {interval: tmp_path / f"out{interval}.mp4" for interval in (1, 2)}
    for interval, output in outputs.items():
        assert main(animate_args(reference, poses, output, "--steps", "4", "--deep-cache", str(interval))) == 0
    settings = {interval: read_label(output)["settings"] for interval, output in outputs.items()}
    assert "deep_cache" not in settings[1] and settings[2]["deep_cache"] == 2


def test_animate_loads_a_saved_model_folder(inputs, tmp_path):
    reference, poses = inputs
    tiny_pipeline(seed=0).save_pretrained(tmp_path / "model")
    videos = []
    for extra in ([], ["--low-memory"]):  # weights read on demand: the same video
        output = tmp_path / f"out{len(videos)}.mp4"
        args = animate_args(reference, poses, output, *extra)
        args[args.index("tiny-random")] = str(tmp_path / "model")
        assert main(args) == 0 and output.is_file()
        videos.append(np.stack(list(iter_video_frames(output))))
    np.testing.assert_array_equal(*videos)


def broken_model(tmp_path: Path) -> Path:
    folder = tmp_path / "broken_model"
    tiny_pipeline(seed=0).save_pretrained(folder)
    shutil.rmtree(folder / "pose_guider")
    return folder


BAD_INPUTS = {
    "missing reference": (lambda t, r, p: dict(reference=t / "nope.png"), "image not found"),
    "unreadable reference": (lambda t, r, p: dict(reference=_text_file(t / "fake.png")), "cannot read image"),
    "decompression bomb reference": (lambda t, r, p: dict(reference=write_png_header(t / "bomb.png", 60000, 60000)),
                                     "refusing to decode"),
    "decompression bomb in pose folder": (lambda t, r, p: dict(pose=_bomb_in(p)), "refusing to decode"),
    "missing pose": (lambda t, r, p: dict(pose=t / "nope.mp4"), "not found"),
    "unreadable pose video": (lambda t, r, p: dict(pose=_text_file(t / "fake_kps.mp4")), "cannot read video"),
    "empty pose folder": (lambda t, r, p: dict(pose=_empty_dir(t / "empty")), "no pose images"),
    "zero frames": (lambda t, r, p: dict(extra=["--frames", "0"]), "--frames"),
    "size not multiple of 8": (lambda t, r, p: dict(extra=["--width", "30"]), "multiples of 8, got 30x48 "),
    "model missing component": (lambda t, r, p: dict(model=broken_model(t)), "missing component(s): pose_guider"),
    "model folder missing": (lambda t, r, p: dict(model=t / "no_model"), "model folder not found"),
    "unknown device": (lambda t, r, p: dict(extra=["--device", "tpu"]), "unknown device"),
    "fp16 on cpu": (lambda t, r, p: dict(extra=["--dtype", "fp16"]), "fp16 is for GPUs"),
    "unknown scheduler": (lambda t, r, p: dict(extra=["--scheduler", "heun"]),
                          "unknown scheduler 'heun': expected one of ddim, dpm++2m, unipc, euler"),
    "not an mp4": (lambda t, r, p: dict(output=t / "out.avi"), ".mp4"),
    "low memory without a folder": (lambda t, r, p: dict(extra=["--low-memory"]), "read a model folder on the CPU"),
    "deep cache below 1": (lambda t, r, p: dict(extra=["--deep-cache", "0"]), "deep_cache_interval must be at least 1"),
}


def _bomb_in(folder: Path) -> Path:
    write_png_header(folder / "999.png", 20000, 9000)  # 180 MP: over Pillow's own limit as well as ours
    return folder


def _text_file(path: Path) -> Path:
    path.write_text("not media")
    return path


def _empty_dir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(case, inputs, tmp_path, capsys):
    reference, poses = inputs
    make, message = BAD_INPUTS[case]
    change = make(tmp_path, reference, poses)
    capsys.readouterr()  # drop what setting up the case printed
    output = change.get("output", tmp_path / "out.mp4")
    args = animate_args(change.get("reference", reference), change.get("pose", poses), output, *change.get("extra", []))
    if "model" in change:
        args[args.index("tiny-random")] = str(change["model"])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("animate-anyone: error:") and message in err
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_console_script_reports_without_traceback(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "animate_anyone.cli", "animate", "--reference", str(tmp_path / "x.png"),
         "--pose", str(tmp_path), "--model", "tiny-random", "--output", str(tmp_path / "o.mp4")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_write_video_is_atomic_on_failure(tmp_path):
    with pytest.raises(ValueError):
        write_video(tmp_path / "bad.mp4", np.zeros((0, 8, 8, 3), np.uint8), fps=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("align", [True, False])
def test_animate_from_keypoints_aligned_to_the_reference(shared_dir, tmp_path, capsys, align):
    photo = shared_dir / "reference" / "media" / "ref_man_photo.png"
    keypoints = tmp_path / "poses.npz"
    assert main(["pose", "extract", str(photo), "--output", str(keypoints)]) == 0
    output = tmp_path / "out.mp4"
    extra = [] if align else ["--no-align"]
    assert main(animate_args(shared_dir / "reference" / "media" / "ref_hero_costume.png", keypoints, output,
                             *extra)) == 0
    assert video_info(output).num_frames == 1
    assert "warning" not in capsys.readouterr().err


def test_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_video(tmp_path / "v.mp4", np.zeros((2, 8, 8, 3), np.uint8), fps=10)
    finally:
        os.umask(old)
    assert (tmp_path / "v.mp4").stat().st_mode & 0o777 == 0o644


def test_bad_size_fails_before_pose_extraction(shared_dir, tmp_path, capsys, monkeypatch):
    import animate_anyone.pose.sources as sources

    monkeypatch.setattr(sources, "load_pose_sequence", lambda *a, **k: pytest.fail("poses loaded before the check"))
    media = shared_dir / "reference" / "media"
    args = animate_args(media / "ref_man_photo.png", media / "dance1_kps.mp4", tmp_path / "o.mp4", "--width", "30")
    assert main(args) == 2 and "multiples of 8" in capsys.readouterr().err


def test_reference_images_are_read_upright_and_in_8_bits(tmp_path):
    from animate_anyone.data.video_io import load_image

    ramp = (np.linspace(0, 65535, 64 * 32).reshape(32, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    deep = np.asarray(load_image(tmp_path / "deep.png"))
    assert deep.dtype == np.uint8 and deep.min() == 0 and deep.max() == 255 and 100 < deep.mean() < 155

    wide = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = wide.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    wide.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_image(tmp_path / "rotated.jpg").size == (20, 40)

    transparent = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    transparent.save(tmp_path / "clear.png")
    assert np.asarray(load_image(tmp_path / "clear.png")).max() == 255
    assert np.asarray(load_image(tmp_path / "clear.png", background=(0, 0, 0))).max() == 0


@pytest.mark.parametrize("width, height", [(60000, 60000), (9000, 9000), (8193, 8192)])
def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path, width, height, monkeypatch):
    from animate_anyone.data.video_io import MAX_PIXELS, load_image
    from animate_anyone.errors import InputError

    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoding started"))
    write_png_header(tmp_path / "big.png", width, height)
    assert width * height > MAX_PIXELS
    with pytest.raises(InputError, match="refusing to decode"):
        load_image(tmp_path / "big.png")


def test_videos_over_the_pixel_limit_are_refused_before_decoding(tmp_path, monkeypatch):
    from animate_anyone.data import video_io
    from animate_anyone.errors import InputError

    write_video(tmp_path / "v.mp4", np.zeros((2, 16, 24, 3), np.uint8), fps=10)
    monkeypatch.setattr(video_io, "MAX_PIXELS", 16 * 24 - 1)  # the check reads the stream's header, any size
    for read in (video_io.video_info, video_io.read_video_frames):
        with pytest.raises(InputError, match="24x16 pixels.*refusing to decode"):
            read(tmp_path / "v.mp4")


@pytest.mark.parametrize("content, message", [(b"definitely not a checkpoint", "refusing .*nothing in it was run"),
                                              (b"PK\x03\x04 truncated zip", "cannot read weight file")])
def test_foreign_weight_and_keypoint_files_are_one_line_errors(tmp_path, content, message):
    from animate_anyone.checkpoints import load_state_dict
    from animate_anyone.errors import InputError
    from animate_anyone.pose.keypoints import KeypointSequence

    (tmp_path / "bad.pth").write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_state_dict(tmp_path / "bad.pth")
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "array.npy").rename(tmp_path / "poses.npz")
    with pytest.raises(InputError, match="not an .npz archive"):
        KeypointSequence.load(tmp_path / "poses.npz")


def test_truncated_component_weights_are_a_one_line_error(tmp_path, capsys):
    folder = tmp_path / "model"
    tiny_pipeline(seed=0).save_pretrained(folder)
    weights = folder / "image_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    capsys.readouterr()
    args = ["animate", "--reference", str(tmp_path / "x.png"), "--pose", str(tmp_path), "--model", str(folder),
            "--output", str(tmp_path / "o.mp4")]
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("animate-anyone: error: cannot load the model") and len(err.splitlines()) == 1


def test_frames_beyond_the_input_and_one_pose_held(inputs, tmp_path, capsys):
    """`--frames N` over a 3-frame input says so in one line; one pose image is held for N frames."""
    reference, poses = inputs
    output = tmp_path / "out.mp4"
    assert main(animate_args(reference, poses, output, "--frames", "100000")) == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        "animate-anyone: warning: --frames 100000: the pose input has only 3 frames; animating those 3")
    assert video_info(output).num_frames == 3

    held = tmp_path / "held.mp4"
    assert main(animate_args(reference, poses / "001.png", held, "--frames", "5")) == 0
    assert "warning" not in capsys.readouterr().err
    assert video_info(held).num_frames == 5


def test_an_existing_output_is_replaced_with_a_warning(inputs, tmp_path, capsys):
    reference, poses = inputs
    output = tmp_path / "out.mp4"
    output.write_bytes(b"an older file")
    assert main(animate_args(reference, poses, output)) == 0
    assert f"animate-anyone: warning: {output} exists and will be replaced" in capsys.readouterr().err.splitlines()
    assert video_info(output).num_frames == 3
