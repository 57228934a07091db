"""The default (mediapipe Holistic) extractor on a real photo, on videos, and on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.data.video_io import load_image, save_image, write_video
from animate_anyone.errors import InputError
from animate_anyone.pose.extract import create_extractor, extract_from_image, extract_from_path
from animate_anyone.pose.extract_mediapipe import BUNDLED_MODELS, MediaPipeHolisticExtractor, pad_to_border, unpad
from animate_anyone.pose.keypoints import BODY_JOINTS, FrameKeypoints, is_present
from animate_anyone.pose.render import BODY_LIMBS, render_pose

J = {name: index for index, name in enumerate(BODY_JOINTS)}


@pytest.fixture(scope="module")
def photo(shared_dir) -> np.ndarray:
    return np.asarray(load_image(shared_dir / "reference" / "media" / "ref_man_photo.png"))


@pytest.fixture(scope="module")
def photo_keypoints(photo):
    extractor = create_extractor("mediapipe", video=False)
    try:
        yield extract_from_image(photo, extractor)
    finally:
        extractor.close()


def test_holistic_models_ship_inside_the_wheel():
    import mediapipe

    assert mediapipe.__version__ == "0.10.14"
    root = Path(mediapipe.__file__).parent
    assert all((root / name).stat().st_size > 100_000 for name in BUNDLED_MODELS)


def foreground(image: np.ndarray) -> np.ndarray:
    """Pixels unlike the studio backdrop (a vertical grey gradient, estimated per row from the borders)."""
    import cv2

    pixels = image.astype(int)
    backdrop = np.median(np.concatenate([pixels[:, :20], pixels[:, -20:]], 1), axis=1)[:, None, :]
    mask = (np.abs(pixels - backdrop).max(-1) > 25).astype(np.uint8)
    return cv2.dilate(mask, np.ones((9, 9), np.uint8)).astype(bool)


def share_on_body(body_pixels: np.ndarray, mask: np.ndarray) -> float:
    """Share of points sampled along the drawn limbs that fall on the foreground."""
    samples = [body_pixels[a] * (1 - t) + body_pixels[b] * t for a, b in BODY_LIMBS for t in np.linspace(0, 1, 9)]
    x, y = np.array(samples).round().astype(int).T
    inside = (x >= 0) & (x < mask.shape[1]) & (y >= 0) & (y < mask.shape[0])
    return float(np.where(inside, mask[y.clip(0, mask.shape[0] - 1), x.clip(0, mask.shape[1] - 1)], False).mean())


def test_real_photo_gives_a_full_upright_body(photo, photo_keypoints):
    body = photo_keypoints.body[0]
    assert is_present(body).all(), "all 18 body joints found"
    y = {name: body[J[name], 1] for name in BODY_JOINTS}
    x = {name: body[J[name], 0] for name in BODY_JOINTS}
    for side in "rl":
        assert y["nose"] < y["neck"] < y[f"{side}_hip"] < y[f"{side}_knee"] < y[f"{side}_ankle"]
        assert y["neck"] < y[f"{side}_elbow"] < y[f"{side}_hip"]
    # a front-facing person: their right side is on the image's left
    for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "eye", "ear"):
        assert x[f"r_{joint}"] < x[f"l_{joint}"], joint
    assert abs(x["neck"] - (x["r_shoulder"] + x["l_shoulder"]) / 2) < 1e-6
    assert is_present(photo_keypoints.faces[0]).all()
    assert is_present(photo_keypoints.hands[0]).all(axis=-1).any(), "at least one hand"


def test_rendered_skeleton_lands_on_the_body(photo, photo_keypoints, artifact_dirs):
    height, width = photo.shape[:2]
    drawing = render_pose(photo_keypoints.frame(0), (width, height))
    overlay = np.where(drawing.max(-1, keepdims=True) > 0, drawing, photo // 2)
    for folder in artifact_dirs:
        save_image(folder / "pose_overlay_ref_man_photo.png", overlay)
    mask = foreground(photo)
    body_pixels = photo_keypoints.body[0, :, :2] * (width, height)
    assert share_on_body(body_pixels, mask) > 0.95
    assert share_on_body(body_pixels + (0.3 * width, 0), mask) < 0.7, "control: a shifted skeleton misses the body"


def test_image_with_nobody_is_an_error(tmp_path):
    empty = tmp_path / "wall.png"
    Image.fromarray(np.full((256, 256, 3), 180, np.uint8)).save(empty)
    extractor = create_extractor("mediapipe", video=False)
    try:
        with pytest.raises(InputError, match="no person found"):
            extract_from_path(empty, extractor)
    finally:
        extractor.close()


def test_video_frames_without_anyone_are_counted_not_fatal(photo, tmp_path):
    small = np.asarray(Image.fromarray(photo).resize((256, 376)))
    frames = [np.roll(small, 4 * i, axis=1) for i in range(5)]
    frames[2] = np.full_like(small, 128)  # nobody
    video = tmp_path / "driving.mp4"
    write_video(video, np.stack(frames), fps=10)
    extractor = create_extractor("mediapipe", video=True)
    try:
        keypoints = extract_from_path(video, extractor)
    finally:
        extractor.close()
    assert (len(keypoints), keypoints.fps, keypoints.width, keypoints.height) == (5, 10, 256, 376)
    np.testing.assert_array_equal(keypoints.person_found(), [True, True, False, True, True])
    moved = keypoints.body[4, J["neck"], 0] - keypoints.body[0, J["neck"], 0]
    assert moved == pytest.approx(16 / 256, abs=0.02)


def test_video_with_nobody_at_all_is_an_error(tmp_path):
    video = tmp_path / "empty.mp4"
    write_video(video, np.full((3, 64, 64, 3), 90, np.uint8), fps=10)
    extractor = create_extractor("mediapipe", video=True)
    try:
        with pytest.raises(InputError, match="no person found in any of the 3 frames"):
            extract_from_path(video, extractor)
    finally:
        extractor.close()


@pytest.mark.parametrize("content", [b"", b"not a video at all"])
def test_unreadable_video_is_an_error(tmp_path, content):
    video = tmp_path / "broken.mp4"
    video.write_bytes(content)
    with pytest.raises(InputError):
        extract_from_path(video, create_extractor("mediapipe", video=True))


def test_keypoints_found_in_a_padded_image_map_back_exactly():
    image = np.zeros((60, 40, 3), np.uint8)
    image[0] = (10, 20, 30)
    padded, (left, top) = pad_to_border(image)
    assert padded.shape == (90, 60, 3) and (left, top) == (10, 15)
    assert (padded[0, 0] == 0).all()  # the median edge colour
    original = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.5], [0.25, 0.5, 0.9]], np.float32)  # normalised (x, y, c)
    in_padded = original.copy()
    in_padded[:, 0] = (original[:, 0] * 40 + left) / 60
    in_padded[:, 1] = (original[:, 1] * 60 + top) / 90
    frame = FrameKeypoints(body=in_padded, hands=np.stack([in_padded, in_padded]), face=in_padded)
    back = unpad(frame, (left, top), (40, 60), (60, 90))
    np.testing.assert_allclose(back.body, original, atol=1e-6)
    np.testing.assert_allclose(back.hands[1], original, atol=1e-6)


def test_fallbacks_find_drawn_figures_the_first_pass_misses():
    """Large procedural characters (drawn, flat-shaded): the fallbacks (shrunk, then padded) find more
    of them than one pass, counting only finds whose neck and hips are within 10 % of the height of
    where they were drawn (benchmarks/bench_drawn_detection.py: 5 and 7 of these 10)."""
    extractors = {"plain": MediaPipeHolisticExtractor(static_image_mode=True, fallbacks=False),
                  "fallbacks": MediaPipeHolisticExtractor(static_image_mode=True)}
    right = {name: 0 for name in extractors}
    try:
        for seed in split_seeds("test", 10, first=2000):
            clip = generate_clip(seed, 1, 512, 768)
            truth = clip.keypoints.body[0]
            for name, extractor in extractors.items():
                frame = extractor(clip.frames[0])
                if frame is not None:
                    error = (frame.body[[1, 8, 11], :2] - truth[[1, 8, 11], :2]) * (512, 768)
                    right[name] += bool(np.hypot(*error.T).max() < 0.1 * 768)
    finally:
        for extractor in extractors.values():
            extractor.close()
    assert right["fallbacks"] > right["plain"], right
