"""Dance-like motion: joint-angle trajectories, steps with planted feet, turns, face and camera.

A clip is cut into segments of 0.8–2.2 s. Each segment picks a move per arm (wave, arms up, hands
on hips, goalpost, swing, ...), a body turn, a head turn, a hand shape, maybe a step pattern; the
segments blend into each other with smoothstep weights that sum to one, so every channel is smooth.
On top run sums of sinusoids at the clip's tempo and its harmonics (random phases): sway, bounce,
lean, nods. Feet stay planted except during a step (a lifted arc of 0.3–0.4 s). The camera frames
the body (full body most often, knees-up or waist-up sometimes), zooms slowly and pans after it.
Everything comes from one `np.random.Generator`, so a seed gives the same motion every time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Arm moves: (phi, psi, forearm phi, forearm psi) in degrees (see `body.limb_direction`), and an
# oscillation (channel, amplitude in degrees, frequency in tempo multiples) layered while the move lasts.
ARM_MOVES = {
    "down": ((10, 5, -5, 15), None),
    "relaxed": ((18, 12, -8, 45), (1, 10, 1.0)),
    "hips": ((50, -15, -100, 10), None),
    "side": ((85, 0, 5, 0), (0, 18, 1.0)),
    "up": ((160, 5, 10, 0), (0, 12, 1.0)),
    "diagonal": ((130, 0, 0, 0), (0, 10, 0.5)),
    "wave": ((100, 5, 65, 0), (2, 28, 4.0)),
    "forward": ((25, 70, 0, 10), (1, 15, 1.0)),
    "goalpost": ((90, 0, 90, 0), (2, 20, 1.0)),
    "chest": ((25, 35, -75, 50), None),
    "swing": ((15, 0, -5, 20), (1, 35, 0.5)),
}
FRAMINGS = {  # name: (probability, view height, camera centre y) in world units
    "full": (0.7, 1.28, -0.5),
    "knees": (0.2, 0.92, -0.6),
    "waist": (0.1, 0.62, -0.74),
}


@dataclass
class Motion:
    """Per-frame channels of one clip (F frames); angles in radians, positions in world units."""

    fps: float
    yaw: np.ndarray  # (F,) body turn
    lean: np.ndarray  # (F,) side bend of the spine
    bend: np.ndarray  # (F,) forward bend of the spine
    pelvis_tilt: np.ndarray  # (F,)
    sway: np.ndarray  # (F,) pelvis offset from between the feet
    bounce: np.ndarray  # (F,) knee dip, fraction of leg length
    arms: np.ndarray  # (F, 2, 4) phi, psi, forearm phi, forearm psi (side order: left, right)
    wrist: np.ndarray  # (F, 2)
    curl: np.ndarray  # (F, 2) 0 open .. 1 fist
    spread: np.ndarray  # (F, 2)
    feet: np.ndarray  # (F, 2, 3) ankle targets
    head_yaw: np.ndarray  # (F,)
    head_roll: np.ndarray  # (F,)
    head_pitch: np.ndarray  # (F,)
    eyes_open: np.ndarray  # (F,)
    mouth_open: np.ndarray  # (F,)
    brows: np.ndarray  # (F,)
    view_height: np.ndarray  # (F,) world height the frame shows
    camera_y: np.ndarray  # (F,)
    camera_pan: np.ndarray  # (F,) camera x offset from where it follows
    follow: float  # how much the camera follows the body sideways (0..1)

    def __len__(self) -> int:
        return len(self.yaw)


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def wiggle(t: np.ndarray, rng: np.random.Generator, amplitude: float, tempo: float,
           harmonics: tuple[float, ...] = (0.5, 1.0, 2.0)) -> np.ndarray:
    """A sum of sinusoids at multiples of `tempo` with random phases and weights, peak about `amplitude`."""
    weights = rng.dirichlet(np.ones(len(harmonics)))
    phases = rng.uniform(0, 2 * np.pi, len(harmonics))
    return amplitude * sum(w * np.sin(2 * np.pi * h * tempo * t + p) for w, h, p in zip(weights, harmonics, phases))


def segment_weights(t: np.ndarray, bounds: np.ndarray, blend: float) -> np.ndarray:
    """(S, F) smooth weights summing to one: segment s holds between bounds[s] and bounds[s + 1]."""
    ramps = [np.ones_like(t)] + [smoothstep((t - b) / blend + 0.5) for b in bounds[1:-1]] + [np.zeros_like(t)]
    return np.stack([ramps[s] - ramps[s + 1] for s in range(len(bounds) - 1)])


def generate_motion(rng: np.random.Generator, num_frames: int, fps: float = 24.0) -> Motion:
    """A random dance-like motion of `num_frames` frames."""
    t = np.arange(num_frames) / fps
    duration = num_frames / fps
    tempo = rng.uniform(0.45, 1.0)  # Hz: the beat the body moves to
    energy = rng.uniform(0.4, 1.0)
    bounds = [0.0]
    while bounds[-1] < duration:
        bounds.append(bounds[-1] + rng.uniform(0.8, 2.2))
    bounds = np.array(bounds)
    weights = segment_weights(t, bounds, blend=0.45)
    arms, segments = _arm_channels(rng, t, weights, tempo, energy)
    per_segment = lambda low, high: weights.T @ rng.uniform(low, high, segments)  # noqa: E731
    yaw_targets = np.cumsum(np.where(rng.random(segments) < 0.45, rng.uniform(-0.6, 0.6, segments), 0.0))
    yaw_targets = np.clip(yaw_targets + rng.uniform(-0.3, 0.3), -0.75, 0.75)
    feet = _feet(rng, t, bounds, energy)
    framing = rng.choice(list(FRAMINGS), p=[p for p, _, _ in FRAMINGS.values()])
    _, view, centre_y = FRAMINGS[framing]
    zoom = 1 + rng.uniform(-0.15, 0.15) * smoothstep(t / duration) + wiggle(t, rng, 0.03, 0.2, (1.0,))
    return Motion(
        fps=fps,
        yaw=weights.T @ yaw_targets + wiggle(t, rng, 0.12 * energy, tempo),
        lean=wiggle(t, rng, 0.09 * energy, tempo, (0.5, 1.0)) + per_segment(-0.06, 0.06),
        bend=per_segment(-0.02, 0.12) + wiggle(t, rng, 0.04 * energy, tempo, (1.0, 2.0)),
        pelvis_tilt=wiggle(t, rng, 0.08 * energy, tempo, (0.5, 1.0)),
        sway=wiggle(t, rng, 0.025 * energy, tempo, (0.5, 1.0)),
        bounce=0.035 * energy * (0.5 - 0.5 * np.cos(2 * np.pi * tempo * 2 * t + rng.uniform(0, 2 * np.pi))) + 0.01,
        arms=arms,
        wrist=np.stack([wiggle(t, rng, 0.35, tempo) for _ in range(2)], 1),
        curl=np.clip(np.stack([per_segment(0, 1) + wiggle(t, rng, 0.15, tempo) for _ in range(2)], 1), 0, 1),
        spread=np.stack([per_segment(0.6, 1.5) for _ in range(2)], 1),
        feet=feet,
        head_yaw=per_segment(-0.45, 0.45) + wiggle(t, rng, 0.12, tempo),
        head_roll=wiggle(t, rng, 0.12 * energy, tempo, (0.5, 1.0)) + per_segment(-0.1, 0.1),
        head_pitch=wiggle(t, rng, 0.12 * energy, tempo, (1.0, 2.0)) + per_segment(-0.1, 0.15),
        eyes_open=_blinks(rng, t),
        mouth_open=np.clip(per_segment(-0.6, 1.0), 0, 1) * (0.5 + 0.5 * np.sin(2 * np.pi * 2.2 * t + rng.uniform(0, 6))) ** 2,
        brows=per_segment(-0.5, 1.0) * 0.6 + wiggle(t, rng, 0.3, tempo),
        view_height=view * rng.uniform(0.93, 1.08) * zoom,
        camera_y=centre_y + rng.uniform(-0.03, 0.03) + wiggle(t, rng, 0.01, 0.25, (1.0,)),
        camera_pan=rng.uniform(-0.12, 0.12) + wiggle(t, rng, 0.06, 0.15, (1.0,)),
        follow=float(rng.uniform(0.3, 0.9)),
    )


def _arm_channels(rng: np.random.Generator, t: np.ndarray, weights: np.ndarray, tempo: float,
                  energy: float) -> tuple[np.ndarray, int]:
    """(F, 2, 4) arm angles: a move per arm per segment (mirrored half of the time), blended."""
    segments = len(weights)
    names = list(ARM_MOVES)
    arms = np.zeros((len(t), 2, 4))
    for s in range(segments):
        left = names[rng.integers(len(names))]
        mirrored = rng.random() < 0.45
        right = left if mirrored else names[rng.integers(len(names))]
        shared_phase = rng.uniform(0, 2 * np.pi)
        for i, move in enumerate((left, right)):
            pose, oscillation = ARM_MOVES[move]
            angles = np.radians(np.array(pose, dtype=float) + rng.uniform(-10, 10, 4))
            channel = np.broadcast_to(angles, (len(t), 4)).copy()
            if oscillation is not None:
                index, amplitude, multiple = oscillation
                phase = shared_phase + (np.pi * i if move == "swing" else 0.0) if mirrored else rng.uniform(0, 6.3)
                channel[:, index] += np.radians(amplitude) * (0.6 + 0.4 * energy) * np.sin(
                    2 * np.pi * multiple * tempo * t + phase)
            arms[:, i] += weights[s][:, None] * channel
    for i in range(2):  # groove: the arms always move a little with the beat
        arms[:, i, 0] += wiggle(t, rng, np.radians(10) * energy, tempo)
        arms[:, i, 2] += wiggle(t, rng, np.radians(12) * energy, tempo)
    return arms, segments


def _feet(rng: np.random.Generator, t: np.ndarray, bounds: np.ndarray, energy: float) -> np.ndarray:
    """(F, 2, 3) ankle targets: planted, moving only during steps (smooth arc, lifted)."""
    ankle_y = -0.03
    half = rng.uniform(0.05, 0.11)
    position = np.array([[half, ankle_y, 0.0], [-half, ankle_y, 0.0]])  # left foot at +x
    feet = np.broadcast_to(position, (len(t), 2, 3)).copy()
    for start, end in zip(bounds[:-1], bounds[1:]):
        if rng.random() > 0.35 + 0.4 * energy:
            continue
        pattern = rng.choice(["side", "out_in", "forward_back", "stomp"])
        duration = rng.uniform(0.28, 0.4)
        time = start + rng.uniform(0.05, 0.3)
        lead = int(rng.integers(2))
        if pattern == "side":
            shift = rng.uniform(0.08, 0.2) * (-1 if position[:, 0].mean() > 0.15 else 1 if position[:, 0].mean() < -0.15
                                              else rng.choice([-1, 1]))
            lead = 0 if shift > 0 else 1  # step with the foot on the side we move to
            moves = [(lead, np.array([shift, 0, 0])), (1 - lead, np.array([shift, 0, 0]))]
        elif pattern == "out_in":
            out = np.array([(1 if lead == 0 else -1) * rng.uniform(0.06, 0.14), 0, 0])
            moves = [(lead, out), (lead, -out)]
        elif pattern == "forward_back":
            out = np.array([0, 0, rng.choice([-1, 1]) * rng.uniform(0.06, 0.13)])
            moves = [(lead, out), (lead, -out)]
        else:
            moves = [(lead, np.zeros(3)), (1 - lead, np.zeros(3))]
        for foot, delta in moves:
            if time + duration > end + 0.3:
                break
            target = position[foot] + delta
            target[0] = np.clip(target[0], -0.45, 0.45)
            gap = (position[0, 0] - target[0]) if foot == 1 else (target[0] - position[1, 0])
            if gap < 0.06:  # feet never cross
                target[0] += (0.06 - gap) * (1 if foot == 0 else -1)
            progress = smoothstep((t - time) / duration)
            lift = np.sin(np.pi * np.clip((t - time) / duration, 0, 1)) * rng.uniform(0.03, 0.07)
            now = t >= time
            feet[now, foot] = position[foot] + progress[now, None] * (target - position[foot])
            feet[now, foot, 1] -= lift[now]
            position[foot] = target
            time += duration + rng.uniform(0.0, 0.15)
    return feet


def _blinks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """(F,) eye openness: open, with a blink of 0.15 s every 2–5 s."""
    eyes = np.ones_like(t)
    time = rng.uniform(0.2, 3.0)
    while time < t[-1] + 1:
        eyes = np.minimum(eyes, np.clip(np.abs(t - time) / 0.075, 0, 1))
        time += rng.uniform(2.0, 5.0)
    return eyes
