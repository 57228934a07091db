"""A procedural character's appearance: body proportions, skin, hair, face, clothes, accessories, scene.

`random_character(rng)` draws everything from one generator. The clothes are textures in the
garments' own frames (see `textures`), made once per character, so every frame of a clip shows the
same stripes, print and belt, glued to the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from animate_anyone.data.synthetic import textures
from animate_anyone.data.synthetic.body import Proportions

SKIN_TONES = ((255, 226, 204), (246, 206, 170), (234, 186, 142), (212, 158, 112), (184, 126, 84),
              (150, 96, 60), (111, 70, 44), (80, 52, 36))
HAIR_COLOURS = ((24, 20, 18), (58, 38, 26), (102, 66, 40), (150, 104, 58), (214, 180, 112), (168, 70, 36),
                (196, 196, 196), (84, 84, 90))
EYE_COLOURS = ((70, 45, 25), (40, 90, 140), (60, 110, 60), (30, 30, 30), (120, 90, 50))
HAIR_STYLES = ("short", "buzz", "bob", "long", "ponytail", "bun", "afro", "spiky", "bald")
HATS = ("cap", "beanie", "tophat")
SLEEVES = ("long", "short", "none")
LOWER = ("pants", "shorts", "skirt")
BACKGROUNDS = ("plain", "gradient", "room", "outdoor", "studio")

TORSO_TEXTURE = (104, 128)  # (W, H): across the shoulders, shoulders to hips
SLEEVE_TEXTURE = (40, 96)  # across, along the bone
LEG_TEXTURE = (48, 112)
SKIRT_TEXTURE = (120, 88)


@dataclass
class Background:
    """A scene in world coordinates (the floor is y = 0, the character stands near x = 0)."""

    kind: str
    colours: list[tuple[int, int, int]]
    horizon: float = 0.0  # y of the floor / ground line
    elements: list[tuple] = field(default_factory=list)  # (shape, colour, x0, y0, x1, y1) in world units


@dataclass
class Character:
    proportions: Proportions
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    hair_style: str
    hair_length: float  # long styles: how far down the back, in head radii
    fringe: float  # hairline height on the forehead (head-local y)
    eyes: tuple[int, int, int]
    lips: tuple[int, int, int]
    torso: np.ndarray  # shirt texture (H, W, 3), print and belt included
    sleeves: str
    sleeve: np.ndarray
    lower: str
    legs: np.ndarray
    skirt: np.ndarray | None
    shoes: tuple[int, int, int]
    soles: tuple[int, int, int]
    hat: str | None
    hat_colour: tuple[int, int, int]
    glasses: tuple[int, int, int] | None
    beard: bool
    scarf: tuple[int, int, int] | None
    bag: tuple[int, int, int] | None
    bag_side: int  # 0 left, 1 right
    palm: float  # ±1: which way the thumbs point
    background: Background
    recipe: dict = field(default_factory=dict)  # what was drawn, for docs and debugging


def _blend(colours, rng: np.random.Generator) -> tuple[int, int, int]:
    index = rng.uniform(0, len(colours) - 1)
    low, high = np.array(colours[int(index)]), np.array(colours[min(int(index) + 1, len(colours) - 1)])
    colour = low + (high - low) * (index % 1) + rng.normal(0, 5, 3)
    return tuple(int(c) for c in np.clip(colour, 0, 255))


def random_proportions(rng: np.random.Generator) -> Proportions:
    base = Proportions()
    build = rng.uniform(0.85, 1.25)  # slim .. broad
    limbs = rng.uniform(0.93, 1.07)
    return Proportions(
        head_radius=base.head_radius * rng.uniform(0.95, 1.18),
        neck=base.neck * rng.uniform(0.8, 1.2),
        torso=base.torso * rng.uniform(0.93, 1.06),
        shoulder_half=base.shoulder_half * rng.uniform(0.9, 1.12) * build ** 0.3,
        hip_half=base.hip_half * rng.uniform(0.9, 1.2),
        upper_arm=base.upper_arm * limbs,
        forearm=base.forearm * limbs,
        hand=base.hand * rng.uniform(0.9, 1.1),
        thigh=base.thigh * limbs * rng.uniform(0.96, 1.04),
        shin=base.shin * limbs * rng.uniform(0.96, 1.04),
        arm_radius=base.arm_radius * build,
        leg_radius=base.leg_radius * build,
        torso_depth=base.torso_depth * build,
        head_width=rng.uniform(0.88, 1.02),
        jaw_width=rng.uniform(0.78, 0.92),
        chin=rng.uniform(0.9, 1.08),
        jaw_square=rng.uniform(0.55, 1.1),
    )


def random_background(rng: np.random.Generator) -> Background:
    kind = str(rng.choice(BACKGROUNDS, p=[0.15, 0.2, 0.3, 0.25, 0.1]))
    colours = [textures.random_colour(rng, (0.05, 0.6), (0.35, 0.95)) for _ in range(4)]
    background = Background(kind, colours, horizon=float(rng.uniform(-0.45, 0.0)) if kind == "outdoor" else 0.0)
    if kind == "room":
        for _ in range(rng.integers(1, 4)):
            shape = str(rng.choice(["window", "frame", "door", "plant", "shelf"]))
            x = rng.uniform(-1.4, 1.2)
            w = rng.uniform(0.15, 0.4)
            top = rng.uniform(-1.3, -0.6) if shape != "door" else -0.95
            bottom = top + (rng.uniform(0.2, 0.45) if shape != "door" else 0.95)
            if shape == "plant":
                top, bottom = -rng.uniform(0.35, 0.6), 0.0
            background.elements.append((shape, textures.random_colour(rng), x, top, x + w, bottom))
        background.elements.append(("floor", str(rng.choice(["plain", "planks", "tiles"])), 0, 0, 0, 0))
    elif kind == "outdoor":
        for _ in range(rng.integers(1, 4)):
            shape = str(rng.choice(["hill", "tree", "cloud", "house"]))
            x = rng.uniform(-1.6, 1.4)
            background.elements.append((shape, textures.random_colour(rng, (0.3, 0.8), (0.3, 0.9)), x,
                                        float(rng.uniform(0.15, 0.5)), x + rng.uniform(0.2, 0.6), 0.0))
        if rng.random() < 0.6:
            background.elements.append(("sun", (255, 230, 120), rng.uniform(-1.2, 1.2), -1.25, 0.08, 0.0))
    return background


def random_character(rng: np.random.Generator) -> Character:
    """A character: every choice drawn from `rng`."""
    props = random_proportions(rng)
    skin = _blend(SKIN_TONES, rng)
    hair = _blend(HAIR_COLOURS, rng) if rng.random() < 0.85 else textures.random_colour(rng, (0.5, 0.9), (0.5, 0.9))
    recipe: dict = {}
    torso, recipe["shirt"] = textures.random_pattern(rng, TORSO_TEXTURE)
    sleeves = str(rng.choice(SLEEVES, p=[0.45, 0.4, 0.15]))
    shirt = recipe["shirt"]
    sleeve = textures.pattern(shirt["kind"], SLEEVE_TEXTURE, shirt["colours"], shirt["period"], rng)
    if rng.random() < 0.75:  # a chest print
        recipe["logo"] = str(rng.choice(textures.LOGOS))
        w, h = TORSO_TEXTURE
        textures.draw_logo(torso, recipe["logo"], (w * rng.uniform(0.4, 0.6), h * rng.uniform(0.28, 0.38)),
                           w * rng.uniform(0.13, 0.2), textures.contrasting(shirt["colours"][0], rng), rng)
    if rng.random() < 0.7:  # a neckline of skin
        w = TORSO_TEXTURE[0]
        cv2.ellipse(torso, (w // 2, 0), (int(w * rng.uniform(0.1, 0.16)), int(w * rng.uniform(0.06, 0.16))), 0, 0, 180,
                    skin, -1, cv2.LINE_AA)
    lower = str(rng.choice(LOWER, p=[0.55, 0.25, 0.2]))
    legs, recipe["legs"] = textures.random_pattern(rng, LEG_TEXTURE, base=textures.random_colour(rng, (0.1, 0.8), (0.15, 0.8)))
    skirt = textures.pattern(recipe["legs"]["kind"], SKIRT_TEXTURE, recipe["legs"]["colours"],
                             recipe["legs"]["period"], rng) if lower == "skirt" else None
    if lower != "skirt" and rng.random() < 0.6:
        recipe["belt"] = True
        textures.draw_belt(torso, TORSO_TEXTURE[1] * 0.87, TORSO_TEXTURE[1] * 0.08,
                           textures.random_colour(rng, (0.2, 0.8), (0.1, 0.5)), (220, 200, 90))
    bag = textures.random_colour(rng) if rng.random() < 0.25 else None
    bag_side = int(rng.integers(2))
    if bag is not None:
        textures.draw_strap(torso, from_left=bag_side == 0, thickness=TORSO_TEXTURE[0] * 0.06,
                            colour=textures.shade(bag, 0.7))
    hair_style = str(rng.choice(HAIR_STYLES, p=[0.2, 0.08, 0.14, 0.17, 0.12, 0.07, 0.07, 0.07, 0.08]))
    hat = str(rng.choice(HATS)) if rng.random() < 0.22 else None
    shoes = textures.random_colour(rng, (0.0, 0.9), (0.1, 0.95))
    return Character(
        proportions=props, skin=skin, hair=hair, hair_style=hair_style,
        hair_length=float(rng.uniform(1.6, 3.6)), fringe=float(rng.uniform(-0.75, -0.42)),
        eyes=EYE_COLOURS[rng.integers(len(EYE_COLOURS))], lips=textures.shade(skin, rng.uniform(0.6, 0.8)),
        torso=torso, sleeves=sleeves, sleeve=sleeve, lower=lower, legs=legs, skirt=skirt,
        shoes=shoes, soles=(235, 235, 230) if rng.random() < 0.5 else (40, 40, 40),
        hat=hat, hat_colour=textures.random_colour(rng),
        glasses=textures.random_colour(rng, (0, 0.6), (0.05, 0.5)) if rng.random() < 0.2 else None,
        beard=bool(rng.random() < 0.12), scarf=textures.random_colour(rng) if rng.random() < 0.15 else None,
        bag=bag, bag_side=bag_side, palm=float(rng.choice([-1.0, 1.0])),
        background=random_background(rng), recipe=recipe,
    )
