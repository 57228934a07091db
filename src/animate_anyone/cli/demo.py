"""`animate-anyone demo`: the shipped model animates a held-out procedural character.

The character is a test-split seed (docs/synthetic.md), never seen in training; its reference
image is the first frame of its clip. The driving poses are the clip's own generated motion, or
any pose input given with `--pose` (letterboxed to the model's square frame).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from animate_anyone.cli.animate import add_generation_arguments
from animate_anyone.cli.outputs import output_file

DEFAULT_OUTPUT = "outputs/demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="animate a held-out procedural character with the shipped model",
        description="Animate a test-split procedural character (never seen in training) with the model shipped "
                    "in the package; writes DIR/demo.mp4 and DIR/demo-contact-sheet.png "
                    "(reference | poses over generated frames).")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"output folder (default {DEFAULT_OUTPUT})")
    parser.add_argument("--pose", default=None,
                        help="drive with this pose input instead of the character's generated motion (anything "
                             "`animate --pose` takes, e.g. ../shared/reference/media/dance1_kps.mp4)")
    parser.add_argument("--character", type=int, default=0,
                        help="which test character: offset into the test seeds, 0..99999 (default 0)")
    parser.add_argument("--frames", type=int, default=24, help="number of frames (default 24)")
    parser.add_argument("--model", default=None, help="pipeline folder instead of the shipped tiny128 model")
    add_generation_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from PIL import Image, ImageOps

    from animate_anyone.cli.animate import (
        apply_model_defaults,
        fit_to_frames,
        generate_and_write,
        load_checked_pipeline,
        load_signing,
    )
    from animate_anyone.data.synthetic import generate_clip, split_seeds
    from animate_anyone.errors import InputError
    from animate_anyone.pose.sources import load_pose_sequence

    output_dir = Path(args.output)
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"--output must be a folder, got the file {output_dir}")
    if args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    load_signing(args)
    (seed,) = split_seeds("test", 1, first=args.character)
    width, height = apply_model_defaults(args)
    pipeline = load_checked_pipeline(args, width, height)
    clip = generate_clip(seed, num_frames=args.frames, width=width, height=height)
    reference = Image.fromarray(clip.frames[0])
    if args.pose is None:
        poses, fps, driver = [Image.fromarray(pose) for pose in clip.pose_maps()], clip.motion.fps, "its own motion"
        driving_video = None
    else:
        sequence = load_pose_sequence(args.pose, max_frames=args.frames, width=width, height=height,
                                      reference_image=reference, align=args.align, backend=args.backend,
                                      dwpose_detector=args.dwpose_detector, dwpose_model=args.dwpose_model)
        poses = [ImageOps.pad(pose.convert("RGB"), (width, height), color=(0, 0, 0))
                 for pose in fit_to_frames(sequence.images, args.frames)]
        fps, driver, driving_video = sequence.fps, args.pose, sequence.driving_video
    print(f"test character {seed} (held out from training), driven by {driver}: {len(poses)} frames")
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in ("demo.mp4", "demo-contact-sheet.png"):
        output_file(output_dir / name, (Path(name).suffix,))
    generate_and_write(pipeline, args, reference, poses, width, height, output_dir / "demo.mp4",
                       output_dir / "demo-contact-sheet.png", fps=fps, driving_video=driving_video)
