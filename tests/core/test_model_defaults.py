"""Per-model generation defaults (generation_defaults.json) and the shipped model's notice for inputs
it was not made for (pipelines.shipped_model_inputs)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from animate_anyone.cli import main
from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.data.video_io import load_image, video_info
from animate_anyone.errors import InputError
from animate_anyone.pipelines.loading import BUILT_IN_DEFAULTS, generation_defaults
from animate_anyone.pipelines.shipped_model_inputs import unlike_training_data

NOTICE = "animate-anyone: warning: the shipped tiny128 model knows only procedural characters"


def test_each_model_has_its_defaults(tmp_path):
    assert generation_defaults(None) == generation_defaults("tiny128") == {
        "width": 128, "height": 128, "num_inference_steps": 8, "guidance_scale": 2.0, "scheduler": "unipc"}
    assert generation_defaults("tiny-random") == BUILT_IN_DEFAULTS
    assert generation_defaults(tmp_path) == BUILT_IN_DEFAULTS  # a folder without the file
    (tmp_path / "generation_defaults.json").write_text(json.dumps({"num_inference_steps": 30}))
    assert generation_defaults(tmp_path) == {**BUILT_IN_DEFAULTS, "num_inference_steps": 30}
    (tmp_path / "generation_defaults.json").write_text(json.dumps({"scheduler": None}))  # the folder's own
    assert generation_defaults(tmp_path) == BUILT_IN_DEFAULTS
    for bad in ({"steps": 3}, {"width": -8}, {"width": 64.5}, {"guidance_scale": "high"}, {"scheduler": 2}, [1]):
        (tmp_path / "generation_defaults.json").write_text(json.dumps(bad))
        with pytest.raises(InputError, match="generation_defaults.json"):
            generation_defaults(tmp_path)


@pytest.mark.parametrize("size", [(128, 128), (256, 256), (512, 768)])
def test_procedural_characters_are_what_the_shipped_model_knows(size):
    for seed in split_seeds("test", 4, first=900):
        assert unlike_training_data(Image.fromarray(generate_clip(seed, 1, *size).frames[0])) is None


def test_photos_and_grey_images_are_not(shared_dir):
    media = shared_dir / "reference" / "media"
    for name in ("ref_man_photo.png", "ref_hero_costume.png"):
        assert "looks like a photo" in unlike_training_data(load_image(media / name))
    assert unlike_training_data(load_image(media / "ref_man_photo.png").convert("L")) == "it has no colour"


def animate(reference, pose, output, *extra):
    return main(["animate", "--reference", str(reference), "--pose", str(pose), "--output", str(output),
                 "--frames", "1", "--steps", "1", *extra])


def test_the_shipped_model_says_once_when_a_photo_is_not_for_it(shared_dir, tmp_path, capsys):
    media = shared_dir / "reference" / "media"
    assert animate(media / "ref_man_photo.png", media / "dance1_kps.mp4", tmp_path / "photo.mp4") == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith(NOTICE)]
    assert len(notices) == 1 and "--model" in notices[0] and "convert" in notices[0]
    assert (video_info(tmp_path / "photo.mp4").width, video_info(tmp_path / "photo.mp4").height) == (128, 128)

    character = tmp_path / "character.png"
    Image.fromarray(generate_clip(split_seeds("test", 1, first=5)[0], 1, 128, 128).frames[0]).save(character)
    assert animate(character, media / "dance1_kps.mp4", tmp_path / "character.mp4") == 0
    assert NOTICE not in capsys.readouterr().err

    # other models are not the shipped one's business
    assert animate(media / "ref_man_photo.png", media / "dance1_kps.mp4", tmp_path / "random.mp4",
                   "--model", "tiny-random", "--width", "32", "--height", "32") == 0
    assert NOTICE not in capsys.readouterr().err


def test_options_left_unset_take_the_models_defaults():
    from animate_anyone.cli import build_parser
    from animate_anyone.cli.animate import apply_model_defaults

    base = ["animate", "--reference", "r.png", "--pose", "p.mp4", "--output", "o.mp4"]
    args = build_parser().parse_args(base)
    assert apply_model_defaults(args) == (128, 128) and (args.steps, args.guidance, args.scheduler) == (8, 2.0, "unipc")
    args = build_parser().parse_args(base + ["--model", "tiny-random", "--steps", "3"])
    assert apply_model_defaults(args) == (512, 768) and (args.steps, args.guidance, args.scheduler) == (3, 3.5, None)
    args = build_parser().parse_args(base + ["--width", "64", "--guidance", "1", "--scheduler", "ddim"])
    assert apply_model_defaults(args) == (64, 128) and (args.steps, args.guidance, args.scheduler) == (8, 1.0, "ddim")


def test_a_folders_default_sampler_is_used_and_recorded_and_a_bad_one_is_one_line(shared_dir, tmp_path, capsys):
    from animate_anyone.pipelines.loading import write_generation_defaults
    from animate_anyone.provenance.label import read_label
    from animate_anyone.testing import tiny_pipeline

    tiny_pipeline(seed=0).save_pretrained(tmp_path / "model")
    media = shared_dir / "reference" / "media"
    args = ["animate", "--model", str(tmp_path / "model"), "--reference", str(media / "ref_anime_woman.png"),
            "--pose", str(media / "pose1.png"), "--frames", "2", "--output", str(tmp_path / "out.mp4")]
    write_generation_defaults(tmp_path / "model", {"width": 32, "height": 48, "num_inference_steps": 2,
                                                   "scheduler": "unipc"})
    assert main(args) == 0
    assert read_label(tmp_path / "out.mp4")["settings"]["scheduler"] == "unipc"
    write_generation_defaults(tmp_path / "model", {"scheduler": "fastest"})
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1:] == [  # after the line that out.mp4 will be replaced
        f"animate-anyone: error: {tmp_path / 'model' / 'generation_defaults.json'}: unknown scheduler 'fastest': "
        "expected one of ddim, dpm++2m, unipc, euler"]
