"""A generated video keeps the sound of its raw driving video: cut to the frames used, in step, as AAC."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from animate_anyone.cli import main
from animate_anyone.cli.animate import driving_audio
from animate_anyone.data.audio import read_driving_audio
from animate_anyone.data.video_io import load_image
from animate_anyone.pose.sources import load_pose_sequence
from animate_anyone.provenance import read_credentials

FPS = 12
RATE = 37800  # not an AAC rate: the output is resampled
ONSET = 0.25  # seconds of silence before the tone


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory, shared_dir):
    """A raw driving video (the man photo sliding sideways, 10 frames at 12 fps) with silence, then a tone."""
    photo = np.asarray(load_image(shared_dir / "reference" / "media" / "ref_man_photo.png").resize((256, 376)))
    path = tmp_path_factory.mktemp("driving") / "walk.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=Fraction(FPS))
        video.width, video.height, video.pix_fmt = 256, 376, "yuv420p"
        audio = container.add_stream("pcm_s16le", rate=RATE, layout="mono")
        for index in range(10):
            frame = np.ascontiguousarray(np.roll(photo, 3 * index, axis=1))
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode())
        time = np.arange(RATE * 10 // FPS) / RATE
        tone = (0.5 * np.sin(2 * np.pi * 440 * time) * (time >= ONSET) * 32767).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.rate, frame.pts = RATE, 0
        container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def decoded_audio(path) -> tuple[np.ndarray, int, float]:
    """(mono samples, rate, the stream's duration in seconds)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        duration = float(stream.duration * stream.time_base)
        samples = np.concatenate([frame.to_ndarray()[0] for frame in container.decode(stream)])
        return samples, stream.rate, duration


def onset(samples: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(samples) > 0.1) / rate)


def test_driving_audio_is_cut_to_the_frames_used_and_resampled(driving_video):
    clip = read_driving_audio(driving_video, num_frames=6, fps=FPS)
    assert clip.rate == 48000 and clip.layout == "mono" and clip.samples.shape == (1, 24000)
    assert clip.duration == pytest.approx(6 / FPS)
    assert onset(clip.samples[0], clip.rate) == pytest.approx(ONSET, abs=0.005)


def test_a_longer_output_than_the_sound_is_padded_with_silence(driving_video):
    clip = read_driving_audio(driving_video, num_frames=15, fps=FPS)  # more frames than the sound lasts
    assert clip.duration == pytest.approx(15 / FPS) and not clip.samples[0, -1000:].any()


def test_a_changed_frame_rate_drops_the_sound_with_a_warning(driving_video):
    with pytest.warns(UserWarning, match="sound is dropped"):
        assert driving_audio(driving_video, 6, fps=24.0) is None


def test_pose_videos_have_no_driving_sound(shared_dir):
    sequence = load_pose_sequence(shared_dir / "reference" / "media" / "dance1_kps.mp4", max_frames=2)
    assert sequence.driving_video is None


def test_animate_keeps_the_driving_sound_in_step(driving_video, shared_dir, signing_chain, tmp_path, capsys):
    args = ["animate", "--reference", str(shared_dir / "reference" / "media" / "ref_man_photo.png"),
            "--pose", str(driving_video), "--model", "tiny-random", "--width", "32", "--height", "48",
            "--steps", "1", "--frames", "6", "--context-frames", "4", "--context-overlap", "1"]
    assert main([*args, "--output", str(tmp_path / "out.mp4")]) == 0
    assert "with the driving video's sound" in capsys.readouterr().out
    samples, rate, duration = decoded_audio(tmp_path / "out.mp4")
    assert duration == pytest.approx(6 / FPS, abs=1 / FPS)
    assert onset(samples, rate) == pytest.approx(ONSET, abs=1 / FPS)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"

    chain, key = signing_chain
    silent = tmp_path / "silent.mp4"
    assert main([*args, "--output", str(silent), "--no-audio", "--c2pa-cert", str(chain), "--c2pa-key", str(key)]) == 0
    with av.open(str(silent)) as container:
        assert not container.streams.audio and len(container.streams.video) == 1
    assert read_credentials(silent).state == "valid"


def test_c2pa_options_go_together(tmp_path, capsys):
    args = ["animate", "--reference", "r.png", "--pose", "p", "--output", str(tmp_path / "o.mp4"),
            "--c2pa-cert", "chain.pem"]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == "animate-anyone: error: --c2pa-cert and --c2pa-key go together"
