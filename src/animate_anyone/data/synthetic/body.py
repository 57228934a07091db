"""The kinematic body: proportions, forward/inverse kinematics, face and hand landmarks.

World frame (units of body height, about 1): x to the image's right, y down (the floor is y = 0),
z toward the camera. A character facing the camera has its right side (OpenPose `r_*`) at negative x.
Sides are indexed as the hand keypoints are: 0 = the person's left (+x), 1 = the person's right (-x).

`pose_skeleton(motion, proportions)` turns joint-angle trajectories (`motion.Motion`) into 3D joints
(`Skeleton`): the body by forward kinematics from the pelvis, the legs by two-bone IK onto the
planted foot targets, 68 face points on the head (rotating with it), 21 points per hand fanned from
the wrist along the forearm. The renderer draws the character around exactly these points, and the
keypoints of the clip are their projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDES = (1.0, -1.0)  # x sign of the person's left (index 0) and right (index 1) side


@dataclass(frozen=True)
class Proportions:
    """Body measures in world units (body height about 1); head shape in head radii."""

    head_radius: float = 0.072
    neck: float = 0.035  # neck joint (shoulder line) to the base of the skull
    torso: float = 0.30  # pelvis centre to neck joint
    shoulder_half: float = 0.105
    hip_half: float = 0.062
    upper_arm: float = 0.165
    forearm: float = 0.15
    hand: float = 0.075  # wrist to middle fingertip
    thigh: float = 0.235
    shin: float = 0.225
    ankle: float = 0.03  # ankle joint above the sole
    arm_radius: float = 0.027
    leg_radius: float = 0.037
    torso_depth: float = 0.075
    head_width: float = 0.95  # cranium half-width / head radius
    jaw_width: float = 0.86  # jaw half-width at the ears / head radius
    chin: float = 1.0  # chin below the head centre / head radius
    jaw_square: float = 0.75  # exponent of the jaw curve: < 1 square, 1 round

    @property
    def leg(self) -> float:
        return self.thigh + self.shin


@dataclass
class Skeleton:
    """3D landmarks of every frame (F frames), in world units."""

    body: np.ndarray  # (F, 18, 3) OpenPose-18 joints
    face: np.ndarray  # (F, 68, 3)
    hands: np.ndarray  # (F, 2, 21, 3); z is the wrist's
    ears_visible: np.ndarray  # (F, 2) bool, OpenPose order (r_ear, l_ear)
    pelvis: np.ndarray  # (F, 3)
    head_centre: np.ndarray  # (F, 3)
    head_rotation: np.ndarray  # (F, 3, 3) head-local -> world
    body_rotation: np.ndarray  # (F, 3, 3) torso-local -> world
    hips: np.ndarray  # (F, 2, 3) hip joints, side order
    toes: np.ndarray  # (F, 2, 3) tip of each shoe, side order
    heels: np.ndarray  # (F, 2, 3)


# ----------------------------------------------------------------------------- rotations
def rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def limb_direction(phi: float, psi: float, side: float) -> np.ndarray:
    """Unit bone direction: `phi` swings it out from hanging down (0) through sideways (π/2) to up (π)
    in the frontal plane, `psi` lifts it toward the camera."""
    return np.array([side * np.sin(phi) * np.cos(psi), np.cos(phi) * np.cos(psi), np.sin(psi)])


def two_bone_ik(root: np.ndarray, target: np.ndarray, upper: float, lower: float,
                bend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(middle joint, reached end) of a two-bone chain from `root` toward `target`, bending toward `bend`."""
    reach = target - root
    distance = float(np.linalg.norm(reach))
    axis = reach / max(distance, 1e-9)
    distance = float(np.clip(distance, abs(upper - lower) + 1e-4, (upper + lower) * 0.999))
    along = (upper ** 2 - lower ** 2 + distance ** 2) / (2 * distance)
    side = bend - axis * float(bend @ axis)
    side /= max(float(np.linalg.norm(side)), 1e-9)
    middle = root + axis * along + side * np.sqrt(max(upper ** 2 - along ** 2, 0.0))
    return middle, root + axis * distance


# ----------------------------------------------------------------------------- face
def face_template(props: Proportions, eyes_open: float = 1.0, mouth_open: float = 0.0,
                  brows: float = 0.0) -> np.ndarray:
    """The 68 iBUG face points (68, 3) in head-local units (head radius 1), facing +z."""
    points = np.zeros((68, 2))
    t = np.linspace(0, 1, 17)
    points[:17, 0] = -props.jaw_width * np.cos(np.pi * t)
    points[:17, 1] = -0.05 + (props.chin + 0.05) * np.sin(np.pi * t) ** props.jaw_square
    s = np.linspace(0, 1, 5)
    brow_y = -0.43 - 0.09 * np.sin(np.pi * s) - 0.08 * brows
    points[17:22] = np.stack([-0.74 + 0.56 * s, brow_y], 1)
    points[22:27] = np.stack([0.18 + 0.56 * s, brow_y[::-1]], 1)
    points[27:31] = np.stack([np.zeros(4), np.linspace(-0.3, 0.16, 4)], 1)
    points[31:36] = np.stack([np.linspace(-0.2, 0.2, 5), [0.25, 0.28, 0.3, 0.28, 0.25]], 1)
    half_w, half_h = 0.17, 0.085 * eyes_open + 0.005
    eye = np.array([(-1, 0), (-1 / 3, -1), (1 / 3, -1), (1, 0), (1 / 3, 1), (-1 / 3, 1)]) * (half_w, half_h)
    points[36:42] = eye + (-0.38, -0.2)
    points[42:48] = eye + (0.38, -0.2)
    mouth_w, gap = 0.3, 0.02 + 0.2 * mouth_open
    outer = np.array([(-1, 0), (-0.6, -0.1), (-0.25, -0.12), (0, -0.1), (0.25, -0.12), (0.6, -0.1),
                      (1, 0), (0.6, 0.1), (0.3, 0.13), (0, 0.14), (-0.3, 0.13), (-0.6, 0.1)])
    outer[:, 0] *= mouth_w
    outer[7:, 1] += gap
    points[48:60] = outer + (0, 0.58)
    inner = np.array([(-0.8, 0), (-0.35, -0.02), (0, -0.02), (0.35, -0.02), (0.8, 0), (0.35, 0), (0, 0), (-0.35, 0)])
    inner[:, 0] *= mouth_w
    inner[5:, 1] += gap
    points[60:68] = inner + (0, 0.58)
    depth = 0.95 * np.sqrt(np.clip(1 - (points[:, 0] / 1.05) ** 2 - (points[:, 1] / 1.25) ** 2, 0.04, None))
    depth[27:31] += np.linspace(0.08, 0.3, 4)  # the nose sticks out
    depth[31:36] += 0.12
    return np.concatenate([points, depth[:, None]], axis=1)


EARS = np.array([(-1.0, 0.05, -0.05), (1.0, 0.05, -0.05)])  # r_ear, l_ear (head-local)


# ----------------------------------------------------------------------------- hands
# Hand-local 2D (units of hand length): x toward the thumb, y along the fingers.
_FINGER_BASES = np.array([(0.16, 0.12), (0.15, 0.45), (0.03, 0.47), (-0.09, 0.44), (-0.2, 0.39)])
_FINGER_ANGLES = np.radians([42, 9, 0, -9, -19])
_FINGER_SEGMENTS = np.array([(0.2, 0.16, 0.14), (0.22, 0.13, 0.11), (0.24, 0.14, 0.12), (0.22, 0.13, 0.11),
                             (0.17, 0.1, 0.09)])
_CURL = np.radians([70, 90, 60])


def hand_points(curl: float, spread: float) -> np.ndarray:
    """(21, 2) OpenPose hand points in hand-local units; `curl` 0 open .. 1 fist, `spread` fans the fingers.

    Curling bends each phalanx toward the palm, so in the image the fingers shorten toward it."""
    points = np.zeros((21, 2))
    for finger in range(5):
        angle = _FINGER_ANGLES[finger] * spread - (0.7 * curl if finger == 0 else 0.0)
        direction = np.array([np.sin(angle), np.cos(angle)])
        position = _FINGER_BASES[finger].copy()
        points[1 + 4 * finger] = position
        bend = 0.0
        for joint in range(3):
            bend += _CURL[joint] * curl * (0.6 if finger == 0 else 1.0)
            position = position + direction * _FINGER_SEGMENTS[finger, joint] * np.cos(bend)
            points[2 + 4 * finger + joint] = position
    return points


# ----------------------------------------------------------------------------- the whole body
def pose_skeleton(motion, props: Proportions, palm: float = 1.0) -> Skeleton:
    """3D landmarks of every frame of `motion` for a body of `props` (`palm` ±1 mirrors the thumbs)."""
    frames = len(motion.yaw)
    body = np.zeros((frames, 18, 3))
    face = np.zeros((frames, 68, 3))
    hands = np.zeros((frames, 2, 21, 3))
    ears_visible = np.zeros((frames, 2), dtype=bool)
    pelvis_all, head_centres = np.zeros((frames, 3)), np.zeros((frames, 3))
    head_rotations, body_rotations = np.zeros((frames, 3, 3)), np.zeros((frames, 3, 3))
    hips_all, toes, heels = np.zeros((frames, 2, 3)), np.zeros((frames, 2, 3)), np.zeros((frames, 2, 3))
    for f in range(frames):
        yaw = motion.yaw[f]
        body_rot = rot_y(yaw) @ rot_z(motion.lean[f]) @ rot_x(-motion.bend[f])
        pelvis_rot = rot_y(yaw) @ rot_z(motion.pelvis_tilt[f])
        feet = motion.feet[f]
        hips_local = np.array([(side * props.hip_half, 0.02, 0.0) for side in SIDES])
        # The pelvis: over the feet, swaying, low enough that both feet stay reachable (knees bend).
        pelvis = np.array([feet[:, 0].mean() + motion.sway[f], 0.0, feet[:, 2].mean()])
        height = props.leg * (0.985 - motion.bounce[f])
        for i in range(2):
            hip_offset = pelvis_rot @ hips_local[i]
            horizontal = np.hypot(feet[i, 0] - pelvis[0] - hip_offset[0], feet[i, 2] - pelvis[2] - hip_offset[2])
            height = min(height, np.sqrt(max((props.leg * 0.985) ** 2 - horizontal ** 2, 1e-6)))
        pelvis[1] = feet[:, 1].max() - height - 0.02
        neck = pelvis + body_rot @ np.array([0.0, -props.torso, 0.0])
        joints = {0: None}
        joints[1] = neck
        for i, side in enumerate(SIDES):
            phi, psi, fore_phi, fore_psi = motion.arms[f, i]
            shoulder = neck + body_rot @ np.array([side * props.shoulder_half, 0.012, 0.0])
            upper_dir = body_rot @ limb_direction(phi, psi, side)
            fore_dir = body_rot @ limb_direction(phi + fore_phi, psi + fore_psi, side)
            elbow = shoulder + props.upper_arm * upper_dir
            wrist = elbow + props.forearm * fore_dir
            hip = pelvis + pelvis_rot @ hips_local[i]
            knee_bend = rot_y(yaw) @ np.array([side * 0.25, 0.0, 1.0])
            knee, ankle = two_bone_ik(hip, feet[i], props.thigh, props.shin, knee_bend)
            base = 5 if side > 0 else 2  # OpenPose: r_shoulder 2, l_shoulder 5; r_hip 8, l_hip 11
            joints[base], joints[base + 1], joints[base + 2] = shoulder, elbow, wrist
            joints[base + 6], joints[base + 7], joints[base + 8] = hip, knee, ankle
            hips_all[f, i] = hip
            foot_rot = rot_y(yaw * 0.6)
            toes[f, i] = ankle + foot_rot @ np.array([side * 0.025, props.ankle - 0.012, 0.075])
            heels[f, i] = ankle + foot_rot @ np.array([0.0, props.ankle - 0.012, -0.02])
            hands[f, i] = _hand(wrist, fore_dir, upper_dir, side, palm, motion, f, i, props)
        head_rot = (rot_y(yaw + motion.head_yaw[f]) @ rot_z(motion.lean[f] + motion.head_roll[f])
                    @ rot_x(-motion.head_pitch[f] - motion.bend[f]))
        centre = neck + body_rot @ np.array([0.0, -props.neck, 0.0]) + head_rot @ np.array([0.0, -props.head_radius, 0.0])
        template = face_template(props, motion.eyes_open[f], motion.mouth_open[f], motion.brows[f])
        face[f] = centre + props.head_radius * template @ head_rot.T
        ears = centre + props.head_radius * EARS @ head_rot.T
        ears_visible[f] = (EARS @ head_rot.T)[:, 2] > -0.45
        joints[0] = face[f, 30]
        joints[14], joints[15] = face[f, 36:42].mean(0), face[f, 42:48].mean(0)
        joints[16], joints[17] = ears[0], ears[1]
        body[f] = np.stack([joints[k] for k in range(18)])
        pelvis_all[f], head_centres[f] = pelvis, centre
        head_rotations[f], body_rotations[f] = head_rot, body_rot
    return Skeleton(body, face, hands, ears_visible, pelvis_all, head_centres, head_rotations, body_rotations,
                    hips_all, toes, heels)


def _hand(wrist, fore_dir, upper_dir, side, palm, motion, f, i, props) -> np.ndarray:
    """(21, 3) hand points: fanned in the image plane along the forearm; z is the wrist's."""
    along = fore_dir[:2] + 0.25 * upper_dir[:2]
    along = along / max(np.linalg.norm(along), 1e-6)
    c, s = np.cos(motion.wrist[f, i]), np.sin(motion.wrist[f, i])
    along = np.array([c * along[0] - s * along[1], s * along[0] + c * along[1]])
    thumb = side * palm * np.array([along[1], -along[0]])
    local = hand_points(motion.curl[f, i], motion.spread[f, i])
    xy = wrist[:2] + props.hand * (local[:, :1] * thumb + local[:, 1:] * along)
    return np.concatenate([xy, np.full((21, 1), wrist[2])], axis=1)
