"""The invisible mark: found with its payload where it was put, through crops and re-encoding; not elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from animate_anyone.provenance import watermark


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / ((a.astype(np.float64) - b) ** 2).mean()))


def test_marked_frames_are_found_with_their_payload(clip_frames):
    marked = watermark.embed(clip_frames, 0xA1B2C3)
    found = watermark.detect(marked)
    assert found.found and found.payload == 0xA1B2C3 and found.payload_hex == "a1b2c3"
    assert found.scale == 1 and found.frames == len(clip_frames) and found.confidence > 1 - 1e-9


def test_unmarked_frames_score_below_the_threshold(clip_frames):
    found = watermark.detect(clip_frames)
    assert not found.found and found.payload is None and found.score < watermark.THRESHOLD


def test_the_mark_costs_less_than_the_psnr_budget(clip_frames):
    marked = watermark.embed(clip_frames, 1)
    assert psnr(marked, clip_frames) >= 40.0
    assert marked.dtype == np.uint8 and marked.shape == clip_frames.shape


def test_a_crop_at_any_offset_keeps_mark_and_payload(clip_frames):
    marked = watermark.embed(clip_frames, 12345)
    cropped = marked[:, 13:13 + 230, 21:21 + 228]  # the tile is found at its new cyclic shift
    found = watermark.detect(cropped)
    assert found.found and found.payload == 12345


def test_payload_is_a_24_bit_hash_and_out_of_range_payloads_are_refused():
    assert watermark.payload_of("a") == watermark.payload_of("a") != watermark.payload_of("b")
    assert 0 <= watermark.payload_of("settings") < 2**watermark.PAYLOAD_BITS
    with pytest.raises(ValueError):
        watermark.mark_tile(2**watermark.PAYLOAD_BITS)


def test_threshold_is_the_proven_false_positive_bound():
    # HYPOTHESES * exp(-t^2/2) is the bound on an unmarked video reaching t (module docstring)
    bound = watermark.HYPOTHESES * np.exp(-watermark.THRESHOLD**2 / 2)
    assert bound == pytest.approx(watermark.FALSE_POSITIVE_BOUND)
