"""The invisible watermark: a spread-spectrum mark in the luma of every frame, detected over all frames.

Why our own mark: the `invisible-watermark` library's DWT-DCT mark (the one SDXL uses) is read frame by
frame and loses its bits under ordinary H.264 re-encoding (benchmarks/bench_watermark.py measures it
when the library is installed; docs/provenance.md has the figures). This mark is built for video:

- **Embedding.** One 128x128 tile of band-limited noise is repeated over the frame and added to the
  luma (the same value to R, G and B, so colours do not shift), the same tile in every frame. Its
  spectrum is flat with random phases (drawn from a key that is the project identifier) between
  periods of about 21 and 5.3 pixels: low enough to survive H.264 quantisation and a downscale by 2,
  high enough to stay invisible, at an RMS of 2.4 grey levels (PSNR 40.5 dB; the band was chosen by
  measuring detection after CRF 28, CRF 35 and a downscale by 2 on procedural clips: v1's band, periods
  of 16 to 4.6 pixels, lost more of the mark to the codec at 256x256 and below).
- **Payload.** The tile's frequency bins are split: half carry the sync pattern (the project's mark
  itself), the other half carry 32 bits (a 24-bit payload and an 8-bit check), each bit flipping the
  sign of its own few bins. The payload we write is a short hash of the generation settings.
- **Detection.** Every frame's luma is first whitened (`whiten`: the host image taken out, every
  neighbourhood brought to the same weight), then folded onto one tile (a crop only shifts the tile
  cyclically; a frame-rate change does not matter), summed over the frames, and matched to the sync
  pattern by phase-only correlation at every cyclic shift (FFT), at scale 1 and, folding onto a tile
  half the size, at scale 1/2 (for videos downscaled by 2). Without the mark, the folded frames are a
  function of the video alone, so their phases are independent of the key's random phases, and each
  shift's normalised score z is a sum of independent cosines of uniform angles; cos of a uniform angle
  is sub-Gaussian with variance proxy 1/2 (E exp(l cos t) = I0(l) <= exp(l^2/4)), hence
  P(z >= t) <= exp(-t^2/2) at every shift, and over all `HYPOTHESES` shifts and scales the chance that
  an unmarked video scores t or more is at most HYPOTHESES * exp(-t^2/2). The threshold makes that
  bound `FALSE_POSITIVE_BOUND` (1e-4 per video). The whitening does not touch this argument: it uses
  no key.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from typing import Iterable

import numpy as np

PROJECT_ID = "animate_anyone/provenance/v2"  # the key: changing it makes a different, incompatible mark
TILE = 128  # pixels: the pattern's period at the marked resolution
BAND = (6, 24)  # radii of the used frequency bins, in cycles per tile: periods of ~21 to ~5.3 pixels
PAYLOAD_BITS = 24
CHECK_BITS = 8
STRENGTH = 2.4  # RMS of the mark on the luma, in grey levels of 0..255
SCALES = (1, 2)  # detection tries the video as marked and as downscaled by 2
FALSE_POSITIVE_BOUND = 1e-4  # proven upper bound on an unmarked video being called marked
HYPOTHESES = sum((TILE // scale) ** 2 for scale in SCALES)  # cyclic shifts tried, over all scales
THRESHOLD = math.sqrt(2 * math.log(HYPOTHESES / FALSE_POSITIVE_BOUND))  # about 6.19
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
ACTIVITY_FLOOR = 0.3  # grey levels added to the activity `whiten` divides by (measured: 0.1 as good, 1 and 3 worse)


@dataclass(frozen=True)
class _Key:
    """The tile's frequency plan: which half-plane bins carry the sync and which carry each bit."""

    rows: np.ndarray  # (B,) frequency indices (half plane, one bin per conjugate pair)
    cols: np.ndarray
    phases: np.ndarray  # (B,) random phases of the pattern
    owner: np.ndarray  # (B,) -1 for sync bins, else the bit index


def _make_key() -> _Key:
    seed = int.from_bytes(hashlib.sha256(PROJECT_ID.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    freqs = np.fft.fftfreq(TILE, 1 / TILE).astype(int)
    rows, cols = np.meshgrid(freqs, freqs, indexing="ij")
    radius = np.hypot(rows, cols)
    in_band = (radius >= BAND[0]) & (radius <= BAND[1])
    half = (rows > 0) | ((rows == 0) & (cols > 0))  # one bin of each conjugate pair
    index_r, index_c = np.nonzero(in_band & half)
    order = rng.permutation(len(index_r))
    index_r, index_c = index_r[order], index_c[order]
    bits = PAYLOAD_BITS + CHECK_BITS
    owner = np.full(len(index_r), -1)
    payload_bins = len(index_r) // 2
    owner[:payload_bins] = np.arange(payload_bins) % bits
    phases = rng.uniform(0, 2 * np.pi, len(index_r))
    return _Key(index_r, index_c, phases, owner)


_KEY = _make_key()


def _check_bits(payload: int) -> int:
    return zlib.crc32(payload.to_bytes(3, "big")) & (2**CHECK_BITS - 1)


def payload_of(text: str) -> int:
    """A 24-bit payload from any text, e.g. the generation settings (the first 24 bits of its SHA-256)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:3], "big")


def _signs(payload: int) -> np.ndarray:
    if not 0 <= payload < 2**PAYLOAD_BITS:
        raise ValueError(f"the payload must be a {PAYLOAD_BITS}-bit integer, got {payload}")
    word = (payload << CHECK_BITS) | _check_bits(payload)
    bits = (word >> np.arange(PAYLOAD_BITS + CHECK_BITS)[::-1]) & 1
    return np.where(bits == 1, 1.0, -1.0)


def mark_tile(payload: int) -> np.ndarray:
    """The (TILE, TILE) float32 pattern carrying `payload`, with RMS `STRENGTH`."""
    signs = np.where(_KEY.owner < 0, 1.0, _signs(payload)[np.maximum(_KEY.owner, 0)])
    spectrum = np.zeros((TILE, TILE), dtype=np.complex128)
    values = signs * np.exp(1j * _KEY.phases)
    spectrum[_KEY.rows, _KEY.cols] = values
    spectrum[-_KEY.rows % TILE, -_KEY.cols % TILE] = np.conj(values)
    tile = np.fft.ifft2(spectrum).real
    return (tile * (STRENGTH / tile.std())).astype(np.float32)


def embed(frames: np.ndarray, payload: int) -> np.ndarray:
    """Frames (F, H, W, 3) uint8 with the mark carrying `payload` added to their luma."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected frames of shape (F, H, W, 3), got {frames.shape}")
    height, width = frames.shape[1:3]
    tile = mark_tile(payload)
    pattern = np.tile(tile, (-(-height // TILE), -(-width // TILE)))[:height, :width, None]
    marked = np.empty_like(frames, dtype=np.uint8)
    for index, frame in enumerate(frames):  # frame by frame: no float copy of the whole video
        marked[index] = np.clip(frame.astype(np.float32) + pattern + 0.5, 0, 255).astype(np.uint8)
    return marked


@dataclass(frozen=True)
class Detection:
    """What `detect` found: `found` when `score` reaches `THRESHOLD`."""

    found: bool
    score: float  # the best shift's z score
    false_positive_bound: float  # proven bound on an unmarked video scoring this high
    payload: int | None  # the 24-bit payload, when found and its check bits agree
    scale: int  # 1: found as marked, 2: found in a video downscaled by 2
    frames: int  # frames examined

    @property
    def confidence(self) -> float:
        """1 - the false-positive bound at this score (0 when the bound says nothing)."""
        return max(0.0, 1.0 - self.false_positive_bound)

    @property
    def payload_hex(self) -> str | None:
        return None if self.payload is None else f"{self.payload:06x}"


def _box3(image: np.ndarray) -> np.ndarray:
    """Mean over each pixel's 3x3 neighbourhood (edges repeated)."""
    padded = np.pad(image, 1, mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    return (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / 9


def whiten(luma: np.ndarray) -> np.ndarray:
    """A frame's luma as the detector reads it: each pixel minus the mean of its four neighbours (the
    host image's smooth content gone; edges, texture, codec noise and the mark left), divided by the
    mean absolute value of that residual over its 3x3 neighbourhood plus `ACTIVITY_FLOOR`.

    Why: folded as it is, a frame's few strong edges (and, after a lossy re-encode, the codec's error
    along them) outweigh the mark in every frequency bin, while the flat areas, where a re-encode
    leaves the mark as the only thing there is, weigh next to nothing. Dividing by the local activity
    gives every neighbourhood the same weight. A linear filter alone would change nothing, since
    phase-only correlation already divides each bin by its magnitude; this division is not linear.
    Measured on v1's mark at 256x256 after CRF 28 (docs/provenance.md): median score 16.5 without it, 29.3 with it.
    """
    luma = np.asarray(luma, dtype=np.float32)
    padded = np.pad(luma, 1, mode="edge")
    residual = luma - (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]) / 4
    return residual / (_box3(np.abs(residual)) + ACTIVITY_FLOOR)


class _Folder:
    """Running sum of whitened luma frames folded onto one tile of the mark's period at one scale: TILE
    pixels as marked, TILE / 2 for a video downscaled by 2 (whose mark repeats every TILE / 2 pixels;
    the band's frequencies stay below that tile's Nyquist limit, so its bins are the same frequencies)."""

    def __init__(self, scale: int):
        self.scale = scale
        self.size = TILE // scale
        self.tile = np.zeros((self.size, self.size), dtype=np.float64)

    def add(self, luma: np.ndarray) -> None:
        """Fold one frame's whitened luma onto the tile."""
        height, width = luma.shape
        size = self.size
        padded = np.zeros((-(-height // size) * size, -(-width // size) * size), dtype=np.float32)
        padded[:height, :width] = luma
        self.tile += padded.reshape(padded.shape[0] // size, size, padded.shape[1] // size, size).sum(axis=(0, 2))


def _read(tile: np.ndarray, scale: int, frames: int) -> Detection:
    size = tile.shape[0]
    rows, cols = _KEY.rows % size, _KEY.cols % size  # signed frequencies as this tile's bins
    observed = np.fft.fft2(tile)[rows, cols]
    relative = np.exp(1j * (np.angle(observed) - _KEY.phases))  # phase seen relative to the key's
    sync = _KEY.owner < 0
    grid = np.zeros((size, size), dtype=np.complex128)
    grid[rows[sync], cols[sync]] = relative[sync]
    grid[-rows[sync] % size, -cols[sync] % size] = np.conj(relative[sync])
    scores = np.fft.ifft2(grid).real * size * size / math.sqrt(2 * sync.sum())
    shift = np.unravel_index(int(np.argmax(scores)), scores.shape)
    score = float(scores[shift])
    bound = min(1.0, HYPOTHESES * math.exp(-score * score / 2)) if score > 0 else 1.0
    found = score >= THRESHOLD
    payload = None
    if found:
        turn = np.exp(2j * np.pi * (rows * shift[0] + cols * shift[1]) / size)
        votes = (relative * turn).real
        sums = np.bincount(_KEY.owner[~sync], weights=votes[~sync], minlength=PAYLOAD_BITS + CHECK_BITS)
        word = int("".join("1" if value > 0 else "0" for value in sums), 2)
        candidate = word >> CHECK_BITS
        if word & (2**CHECK_BITS - 1) == _check_bits(candidate):
            payload = candidate
    return Detection(found, score, bound, payload, scale, frames)


def detect(frames: Iterable[np.ndarray], max_frames: int | None = None) -> Detection:
    """Look for the mark in RGB uint8 frames (an array or any iterable of (H, W, 3) frames)."""
    folders = [_Folder(scale) for scale in SCALES]
    count = 0
    for frame in frames:
        luma = whiten(np.asarray(frame, dtype=np.float32) @ LUMA)
        for folder in folders:
            folder.add(luma)
        count += 1
        if max_frames is not None and count >= max_frames:
            break
    if count == 0:
        raise ValueError("no frames to look for a mark in")
    readings = [_read(folder.tile, folder.scale, count) for folder in folders]
    return max(readings, key=lambda reading: reading.score)
