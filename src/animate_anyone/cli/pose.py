"""`animate-anyone pose extract|render|align`: driving poses as keypoint files and pose videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from animate_anyone.cli.outputs import output_file



def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pose", help="extract, render and align driving poses",
                                   description="Driving poses: keypoint files (.npz) and rendered pose videos.")
    commands = parser.add_subparsers(dest="pose_command", required=True, metavar="SUBCOMMAND")

    extract = commands.add_parser("extract", help="keypoints of the person in a video or an image",
                                  description="Extract keypoints (OpenPose-18 body, hands, face) of the person in a "
                                  "driving video or an image; fill short gaps and smooth them over time.")
    extract.add_argument("input", help="a video or an image of a person")
    extract.add_argument("--output", required=True, help="keypoint file to write (.npz)")
    extract.add_argument("--render", help="also write the rendered poses (.mp4, or an image for an image input)")
    extract.add_argument("--frames", type=int, default=None, help="use only the first N frames")
    extract.add_argument("--no-smooth", action="store_true", help="keep the raw per-frame keypoints")
    add_backend_arguments(extract)
    extract.set_defaults(func=run_extract)

    render = commands.add_parser("render", help="draw a keypoint file as a pose video",
                                 description="Draw keypoints as DWPose-style pose images (letterboxed to the size).")
    render.add_argument("keypoints", help="keypoint file (.npz)")
    render.add_argument("--output", required=True, help="pose video (.mp4), or an image for a one-frame file")
    render.add_argument("--width", type=int, default=None, help="output width (default: the keypoints' video width)")
    render.add_argument("--height", type=int, default=None, help="output height (default: the keypoints' video height)")
    render.set_defaults(func=run_render)

    align = commands.add_parser("align", help="fit a keypoint file to the body in a reference image",
                                description="Rescale every limb of the driving poses to the reference character's "
                                "proportions and move them onto it (DESIGN.md §4). The result is in the reference "
                                "image's frame.")
    align.add_argument("keypoints", help="keypoint file of the driving poses (.npz)")
    align.add_argument("--reference", required=True, help="reference image showing the character's body")
    align.add_argument("--output", required=True, help="aligned keypoint file to write (.npz)")
    add_backend_arguments(align)
    align.set_defaults(func=run_align)


def add_backend_arguments(parser: argparse.ArgumentParser, flag: str = "--backend") -> None:
    """Pose-extractor options (`args.backend`, `args.dwpose_detector`, `args.dwpose_model`)."""
    from animate_anyone.pose import BACKENDS, DEFAULT_BACKEND

    parser.add_argument(flag, dest="backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help=f"pose extractor (default {DEFAULT_BACKEND}; dwpose needs the two model files)")
    parser.add_argument("--dwpose-detector", help="YOLOX person detector ONNX file (yolox_l.onnx)")
    parser.add_argument("--dwpose-model", help="DWPose whole-body ONNX file (dw-ll_ucoco_384.onnx)")


def _extractor(args: argparse.Namespace, video: bool):
    from animate_anyone.pose.extract import create_extractor

    return create_extractor(args.backend, video=video, dwpose_detector=args.dwpose_detector,
                            dwpose_model=args.dwpose_model)


def _rendered(keypoints, output: Path, width: int | None = None, height: int | None = None):
    """Frames for `output` (checked against its kind) and the function that writes them there."""
    from animate_anyone.data.video_io import IMAGE_SUFFIXES, save_image, write_video
    from animate_anyone.errors import InputError
    from animate_anyone.pose.render import render_sequence

    for name, value in (("--width", width), ("--height", height)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be positive, got {value}")
    if output.suffix.lower() in IMAGE_SUFFIXES and len(keypoints) != 1:
        raise InputError(f"{output} is an image but the keypoints have {len(keypoints)} frames: write an .mp4")
    frames = render_sequence(keypoints, width, height)
    if output.suffix.lower() in IMAGE_SUFFIXES:
        return lambda: save_image(output, frames[0])
    return lambda: write_video(output, frames, fps=keypoints.fps)


def run_extract(args: argparse.Namespace) -> None:
    from animate_anyone.data.video_io import IMAGE_SUFFIXES
    from animate_anyone.errors import InputError
    from animate_anyone.pose.extract import extract_from_path
    from animate_anyone.pose.smooth import fill_gaps, smooth_keypoints
    from animate_anyone.pose.sources import report_frames_without_person

    output = output_file(args.output, (".npz",), "--output")
    render_output = output_file(args.render, (".mp4", *IMAGE_SUFFIXES), "--render") if args.render else None
    if args.frames is not None and args.frames < 1:
        raise InputError(f"--frames must be at least 1, got {args.frames}")
    is_image = Path(args.input).suffix.lower() in IMAGE_SUFFIXES
    extractor = _extractor(args, video=not is_image)
    try:
        keypoints = extract_from_path(args.input, extractor, args.frames, progress=_progress)
    finally:
        extractor.close()
    if len(keypoints) >= 25:
        print(file=sys.stderr)  # end the progress line
    missing = report_frames_without_person(keypoints, Path(args.input))
    keypoints = fill_gaps(keypoints)
    if not args.no_smooth:
        keypoints = smooth_keypoints(keypoints)
    write_render = _rendered(keypoints, render_output) if render_output else None  # everything computed first
    keypoints.save(output)
    if write_render:
        write_render()
    print(f"wrote {output} ({len(keypoints)} frames, {missing} without a person"
          + (f"; rendered to {render_output})" if render_output else ")"))


def _progress(frames: int) -> None:
    if frames % 25 == 0:
        print(f"\rextracted {frames} frames", end="", file=sys.stderr, flush=True)


def run_render(args: argparse.Namespace) -> None:
    from animate_anyone.data.video_io import IMAGE_SUFFIXES
    from animate_anyone.pose.keypoints import KeypointSequence

    output = output_file(args.output, (".mp4", *IMAGE_SUFFIXES), "--output")
    keypoints = KeypointSequence.load(args.keypoints)
    _rendered(keypoints, output, args.width, args.height)()
    print(f"wrote {output} ({len(keypoints)} frames)")


def run_align(args: argparse.Namespace) -> None:
    import numpy as np

    from animate_anyone.data.video_io import load_image
    from animate_anyone.pose.align import align_to_reference
    from animate_anyone.pose.extract import extract_from_image
    from animate_anyone.pose.keypoints import KeypointSequence
    from animate_anyone.pose.smooth import fill_gaps

    output = output_file(args.output, (".npz",), "--output")
    driving = fill_gaps(KeypointSequence.load(args.keypoints))
    image = np.asarray(load_image(args.reference))
    extractor = _extractor(args, video=False)
    try:
        reference = extract_from_image(image, extractor, name=f"reference image {args.reference}")
    finally:
        extractor.close()
    align_to_reference(driving, reference).save(output)
    print(f"wrote {output} ({len(driving)} frames aligned to {args.reference}, {image.shape[1]}x{image.shape[0]})")
