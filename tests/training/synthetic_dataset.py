"""A small generated dataset for training tests: stick figures walking over coloured backgrounds.

Each video shows one figure (its own clothes colour and background) whose joints follow a smooth
periodic motion; its pose video (`*_kps.mp4`) draws the same skeleton in OpenPose colours on black.
Tiny and fast to write; a later issue adds a proper procedural-character generator.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from animate_anyone.data.video_io import write_video

# joint order: head, neck, r-hand, l-hand, hip, r-foot, l-foot
BONES = [(0, 1), (1, 2), (1, 3), (1, 4), (4, 5), (4, 6)]
BONE_COLOURS = [(255, 0, 0), (255, 170, 0), (170, 255, 0), (0, 255, 85), (0, 170, 255), (170, 0, 255)]


def skeleton(t: float, size: int, phase: float) -> np.ndarray:
    """(7, 2) joint pixels at time t (frames / 30)."""
    cx = size * (0.5 + 0.18 * np.sin(2 * np.pi * 0.25 * t + phase))
    swing = 0.35 * np.sin(2 * np.pi * 0.8 * t + phase)
    s = size
    head, neck, hip = (cx, 0.18 * s), (cx, 0.32 * s), (cx, 0.6 * s)
    hands = [(cx + 0.22 * s * np.sin(a), 0.32 * s + 0.22 * s * np.cos(a)) for a in (0.9 + swing, -0.9 - swing)]
    feet = [(cx + 0.2 * s * np.sin(a), 0.6 * s + 0.3 * s * np.cos(a)) for a in (0.4 - swing, -0.4 + swing)]
    return np.array([head, neck, hands[0], hands[1], hip, feet[0], feet[1]])


def render_frames(joints: np.ndarray, size: int, clothes, background) -> tuple[np.ndarray, np.ndarray]:
    """(character frame, pose frame), each (size, size, 3) uint8."""
    frame = Image.new("RGB", (size, size), background)
    pose = Image.new("RGB", (size, size), (0, 0, 0))
    draw, draw_pose = ImageDraw.Draw(frame), ImageDraw.Draw(pose)
    width = max(2, size // 10)
    for (a, b), colour in zip(BONES, BONE_COLOURS):
        draw.line([tuple(joints[a]), tuple(joints[b])], fill=clothes, width=width)
        draw_pose.line([tuple(joints[a]), tuple(joints[b])], fill=colour, width=max(1, size // 24))
    r = size * 0.08
    hx, hy = joints[0]
    draw.ellipse([hx - r, hy - r, hx + r, hy + r], fill=(240, 200, 160))
    return np.asarray(frame), np.asarray(pose)


def write_synthetic_videos(folder: Path, num_videos: int = 3, num_frames: int = 40, size: int = 48,
                           pose_folder: Path | None = None) -> list[str]:
    """Write `name.mp4` into `folder` and `name_kps.mp4` into `pose_folder` (default: the same folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    pose_folder = pose_folder or folder
    pose_folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    names = []
    for index in range(num_videos):
        clothes = tuple(int(c) for c in rng.integers(40, 255, 3))
        background = tuple(int(c) for c in rng.integers(0, 120, 3))
        frames, poses = zip(*(render_frames(skeleton(t / 30, size, phase=index * 1.3), size, clothes, background)
                              for t in range(num_frames)))
        name = f"clip{index}"
        write_video(folder / f"{name}.mp4", np.stack(frames), fps=30)
        write_video(pose_folder / f"{name}_kps.mp4", np.stack(poses), fps=30)
        names.append(name)
    return names


def write_synthetic_dataset(root: Path, **kwargs) -> Path:
    """A prepared dataset folder (videos/, kps/, meta.json) without going through `data prepare`."""
    names = write_synthetic_videos(root / "videos", pose_folder=root / "kps", **kwargs)
    num_frames = kwargs.get("num_frames", 40)
    meta = [{"video": f"videos/{n}.mp4", "pose": f"kps/{n}_kps.mp4", "num_frames": num_frames} for n in names]
    (root / "meta.json").write_text(json.dumps(meta, indent=1))
    return root


def hide_first_frame(source: Path, destination: Path) -> None:
    """Remux `source` with every timestamp one frame earlier, as many camera and phone clips are: the
    mp4 muxer then writes an edit list that hides the first frame, so the header still counts every
    frame while decoding gives one fewer (the container header "lies")."""
    import av

    with av.open(str(source)) as reader, av.open(str(destination), "w", format="mp4") as writer:
        stream_in = reader.streams.video[0]
        stream_out = writer.add_stream_from_template(stream_in)
        for packet in reader.demux(stream_in):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.pts -= packet.duration
            packet.dts -= packet.duration
            packet.stream = stream_out
            writer.mux(packet)
