"""Procedural characters for training and measuring the embedded tiny model (DESIGN §6).

    clip = generate_clip(seed=7, num_frames=48, width=128, height=128)
    clip.frames            # (F, H, W, 3) uint8: the character dancing over its background
    clip.keypoints         # KeypointSequence: OpenPose-18 body, 2 x 21 hand and 68 face points
    clip.pose_maps()       # render_sequence(clip.keypoints): the pose images a model is driven by

`animate_anyone.data.synthetic.dataset.write_synthetic_dataset` (not imported here: it pulls in the training
dataset and with it the models, seconds of imports the web page and `demo` do without) writes clips in the dataset layout of `animate-anyone data prepare`
(`videos/`, `poses/`, `kps/`, `meta.json`). Seeds are split into train and test ranges that never
overlap (`seeds`). See docs/synthetic.md.
"""

from animate_anyone.data.synthetic.clip import SyntheticClip, animate, character_of, generate_clip, motion_of
from animate_anyone.data.synthetic.seeds import SPLITS, TEST_SEEDS, TRAIN_SEEDS, split_of, split_seeds

__all__ = [
    "SPLITS", "TEST_SEEDS", "TRAIN_SEEDS", "SyntheticClip", "animate", "character_of", "generate_clip", "motion_of",
    "split_of", "split_seeds",
]
