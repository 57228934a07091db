"""The web UI end to end through Gradio's own Python client, against a real server (conftest.ui_server)."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from animate_anyone.cli import main
from animate_anyone.data.video_io import load_image, read_video_frames, video_info, write_video
from animate_anyone.testing import write_png_header
from animate_anyone.ui.app import NO_MOTION
from animate_anyone.ui.preview import overlay_frames

JOB_TIMEOUT = 240  # seconds; a tiny job takes a few


@pytest.fixture(scope="module")
def media(shared_dir) -> Path:
    return shared_dir / "reference" / "media"


def job_args(reference, driving, *, frames=6, steps=2, width=32, height=32, motion=NO_MOTION, seed=0):
    """The /generate inputs, in the page's order."""
    return ("tiny-random", handle_file(str(reference)), driving and handle_file(str(driving)), motion,
            width, height, frames, steps, 2.0, seed, 24, 4, True)


def job_folders(output: Path) -> set[Path]:
    return set((output / "jobs").glob("*")) if (output / "jobs").is_dir() else set()


def test_generate_gives_the_asked_frames_and_settings_that_reproduce_it(ui_server, media, tmp_path, monkeypatch):
    url, output = ui_server
    client = Client(url, verbose=False)
    before = job_folders(output)
    status, video, sheet, downloads, settings = client.predict(
        *job_args(media / "ref_anime_woman.png", media / "dance1_kps.mp4", frames=6, width=64, height=64),
        api_name="/generate")  # 64 px: libx264 itself was seen to encode the same 32x32 frames two ways
    assert status.startswith("Done: 6 frames, 64x64")
    info = video_info(video)
    assert (info.num_frames, info.width, info.height) == (6, 64, 64)
    assert sorted(Path(path).name for path in downloads) == ["animation.mp4", "contact-sheet.png", "settings.json"]
    assert Path(sheet).is_file()

    (folder,) = job_folders(output) - before  # the job's folder on the server: inputs, results, settings
    recorded = json.loads((folder / "settings.json").read_text())
    assert recorded == json.loads(settings) and recorded["frames"] == 6 and recorded["seed"] == 0
    monkeypatch.chdir(folder)
    (folder / "animation.mp4").rename(folder / "from-the-page.mp4")
    command = shlex.split(recorded["command"])
    assert command[:2] == ["animate-anyone", "animate"]
    assert main(command[1:]) == 0  # the CLI, run in the job folder, makes the same video
    assert np.array_equal(read_video_frames(folder / "animation.mp4"), read_video_frames(folder / "from-the-page.mp4"))


@pytest.mark.parametrize("driving, motion, frames", [
    (None, "generated motion 1", 4),  # keypoints of a generated motion, fitted to the reference
    ("ref_man_photo.png", NO_MOTION, 1),  # a raw photo: its pose extracted, fitted to the reference
])
def test_generated_motions_and_raw_photos_drive_jobs(ui_server, media, driving, motion, frames):
    url, _ = ui_server
    status, video, *_ = Client(url, verbose=False).predict(
        *job_args(media / "ref_hero_costume.png", driving and media / driving, frames=4, motion=motion),
        api_name="/generate")
    assert status.startswith(f"Done: {frames} frames") and video_info(video).num_frames == frames
    assert "⚠" not in status  # both were fitted to the character without a warning


def test_pose_preview_draws_the_skeletons_over_the_reference(ui_server, media):
    url, _ = ui_server
    preview, status = Client(url, verbose=False).predict(
        "tiny-random", handle_file(str(media / "ref_anime_woman.png")), handle_file(str(media / "dance1_kps.mp4")),
        NO_MOTION, 64, 96, 5, True, api_name="/preview")
    assert status.startswith("Pose preview: 5 frames")
    frames = read_video_frames(preview).astype(float)
    assert frames.shape == (5, 96, 64, 3)
    poses = [Image.fromarray(frame) for frame in read_video_frames(media / "dance1_kps.mp4", max_frames=5)]
    expected = overlay_frames(load_image(media / "ref_anime_woman.png"), poses, 64, 96)
    pose_only = np.stack([np.asarray(pose.resize((64, 96))) for pose in poses])
    assert np.abs(frames - expected).mean() < 4  # H.264's loss
    assert np.abs(frames - pose_only).mean() > 4 * np.abs(frames - expected).mean()  # the reference is there


def bad_inputs(tmp_path: Path, media: Path) -> dict:
    not_an_image = tmp_path / "broken.png"
    not_an_image.write_bytes(b"\x89PNG\r\n\x1a\n but then nothing")
    damaged_video = tmp_path / "dance_kps.mp4"
    damaged_video.write_bytes((media / "dance1_kps.mp4").read_bytes()[:2000])
    long_video = tmp_path / "long.mp4"
    write_video(long_video, np.zeros((2, 16, 16, 3), np.uint8), fps=1 / 700)  # 1400 s: over the 600 s accepted
    reference, pose = media / "ref_anime_woman.png", media / "dance1_kps.mp4"
    return {
        "damaged image": (job_args(not_an_image, pose), "cannot read image"),
        "decompression bomb": (job_args(write_png_header(tmp_path / "bomb.png", 60000, 60000), pose),
                               "refusing to decode"),
        "damaged video": (job_args(reference, damaged_video), "video"),
        "video too long": (job_args(reference, long_video), "more than the 600 s accepted"),
        "unsupported file": (job_args(reference, media / "LICENSE-Apache-2.0.txt"), "unsupported driving input"),
        "no driving input": (job_args(reference, None), "no driving input"),
        "size not a multiple of 8": (job_args(reference, pose, width=30), "multiples of 8"),
        "too many frames": (job_args(reference, pose, frames=49), "between 1 and 48"),
    }


def test_bad_uploads_are_one_message_and_the_next_job_works(ui_server, media, tmp_path):
    url, output = ui_server
    client = Client(url, verbose=False)
    before = job_folders(output)
    for case, (args, message) in bad_inputs(tmp_path, media).items():
        with pytest.raises(AppError) as caught:
            client.predict(*args, api_name="/generate")
        text = str(caught.value)
        assert message in text and "Traceback" not in text and len(text.splitlines()) == 1, (case, text)
    assert job_folders(output) == before  # failed jobs leave nothing behind
    status, video, *_ = client.predict(*job_args(media / "ref_anime_woman.png", media / "dance1_kps.mp4", frames=3),
                                       api_name="/generate")
    assert status.startswith("Done") and video_info(video).num_frames == 3


def test_uploads_over_the_size_limit_are_refused_by_the_server(ui_server, tmp_path):
    import httpx

    url, _ = ui_server
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (6 * 2**20))  # over the test server's --max-upload-mb 5
    response = httpx.post(url + "gradio_api/upload", files={"files": ("big.png", big.read_bytes())}, timeout=60)
    assert response.status_code == 413 and "maximum allowed size" in response.text
    with pytest.raises(ValueError, match="exceeds the maximum file size"):  # the client checks first
        Client(url, verbose=False).predict(*job_args(big, big), api_name="/generate")


def wait_for_status(job, prefix: str, timeout: float = JOB_TIMEOUT, contains: str = "") -> str:
    """The first streamed status of `job` that starts with `prefix` (and holds `contains`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for outputs in job.outputs():
            if outputs[0].startswith(prefix) and contains in outputs[0]:
                return outputs[0]
        if job.done():
            raise AssertionError(f"the job ended without {prefix!r}: {job.outputs()[-1:]}")
        time.sleep(0.1)
    raise TimeoutError(f"no {prefix!r} status after {timeout} s")


def test_jobs_wait_their_turn_and_cancel_stops_within_a_step(ui_server, media):
    url, output = ui_server
    first, second = Client(url, verbose=False), Client(url, verbose=False)
    before = job_folders(output)
    reference, pose = media / "ref_anime_woman.png", media / "dance1_kps.mp4"
    # Steps enough that the job cannot end before Cancel comes, even on a fast machine.
    running = first.submit(*job_args(reference, pose, frames=4, steps=1000), api_name="/generate")
    assert wait_for_status(running, "Generating: denoising step ", contains="s left")  # an ETA once a step is done
    waiting = second.submit(*job_args(reference, pose, frames=3), api_name="/generate")
    assert wait_for_status(waiting, "Waiting for tiny-random: 1 job(s) ahead")

    answer = first.predict(api_name="/cancel")
    assert answer.startswith("Cancelling at denoising step ")
    seen = int(answer.split("denoising step ")[1].split(":")[0])  # steps done when the server took the Cancel
    status = running.result(timeout=JOB_TIMEOUT)[0]
    assert status.startswith("Cancelled after denoising step")
    stopped_at = int(status.split("step ")[1].split()[0])
    assert stopped_at <= seen + 1  # the step under way when Cancel came
    assert stopped_at < 1000

    status, video, *_ = waiting.result(timeout=JOB_TIMEOUT)  # the next job in line runs, the server is healthy
    assert status.startswith("Done") and video_info(video).num_frames == 3
    assert len(job_folders(output) - before) == 1  # the cancelled job left nothing behind
    assert second.predict(api_name="/cancel") == "Nothing to cancel."
