"""Example inputs offered on the page: procedural test characters, the sample media when ../shared is
beside the checkout, and generated motions (keypoint files written on demand)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.data.video_io import save_image

# ../shared/reference/media beside a source checkout (src/animate_anyone/ui/examples.py -> repo/../shared)
SAMPLE_MEDIA = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "media"
SAMPLE_PHOTOS = ("ref_anime_woman.png", "ref_hero_costume.png", "ref_man_photo.png")
SAMPLE_POSE_VIDEOS = ("dance1_kps.mp4", "dance2_kps.mp4")
NUM_CHARACTERS = 3
# Generated motions, by the name the page shows: test-split seeds, never seen in training.
MOTIONS = {f"generated motion {index + 1}": seed for index, seed in enumerate(split_seeds("test", 3, first=10))}


def example_references(folder: Path, size: tuple[int, int] = (128, 128)) -> list[Path]:
    """Reference images: the first frame of a few test-split characters (written into `folder`), then
    the sample photos that exist."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in split_seeds("test", NUM_CHARACTERS):
        path = folder / f"character-{seed}.png"
        if not path.is_file():
            save_image(path, Image.fromarray(generate_clip(seed, num_frames=1, width=size[0], height=size[1]).frames[0]))
        paths.append(path)
    return paths + [SAMPLE_MEDIA / name for name in SAMPLE_PHOTOS if (SAMPLE_MEDIA / name).is_file()]


def example_pose_videos() -> list[Path]:
    return [SAMPLE_MEDIA / name for name in SAMPLE_POSE_VIDEOS if (SAMPLE_MEDIA / name).is_file()]


def write_motion_keypoints(name: str, path: Path, frames: int, width: int, height: int, fps: float = 24.0) -> Path:
    """The keypoints of generated motion `name` (a body of the procedural kind doing it), as a keypoint file."""
    if name not in MOTIONS:
        raise KeyError(name)
    return generate_clip(MOTIONS[name], num_frames=frames, width=width, height=height, fps=fps).keypoints.save(path)
