"""`animate-anyone data ...`: dataset tools (`prepare`; each subcommand is a `register_*` function below)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="dataset tools: prepare a training dataset from videos",
                                   description="Dataset tools for training.")
    commands = parser.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    for register_command in SUBCOMMANDS:
        register_command(commands)


def register_prepare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "prepare", help="videos folder -> dataset folder (videos/, kps/, meta.json)",
        description="Build a training dataset: extract and render the poses of every video (or take "
                    "pre-rendered NAME_kps.mp4 from --pose-dir), check frame counts, write meta.json. "
                    "Bad videos are skipped and listed.")
    parser.add_argument("videos_dir", help="folder of videos (*.mp4, *.mov, ...)")
    parser.add_argument("--output", required=True, help="new dataset folder")
    parser.add_argument("--pose-dir", default=None,
                        help="folder of pre-rendered pose videos NAME_kps.mp4 (skips pose extraction)")
    parser.add_argument("--backend", default="mediapipe", choices=["mediapipe", "dwpose"],
                        help="pose extractor when no --pose-dir (default mediapipe)")
    parser.add_argument("--dwpose-detector", default=None, help="dwpose backend: yolox_l.onnx")
    parser.add_argument("--dwpose-model", default=None, help="dwpose backend: dw-ll_ucoco_384.onnx")
    parser.add_argument("--symlink", action="store_true", help="symlink videos instead of copying them")
    parser.set_defaults(func=run_prepare)


def run_prepare(args: argparse.Namespace) -> None:
    from animate_anyone.data.prepare import PoseVideoMaker, prepare_dataset

    pose_maker = None
    if args.pose_dir is None:
        options = {}
        if args.backend == "dwpose":
            options = dict(dwpose_detector=args.dwpose_detector, dwpose_model=args.dwpose_model)
        pose_maker = PoseVideoMaker(args.backend, **options)
    try:
        report = prepare_dataset(args.videos_dir, args.output, pose_dir=args.pose_dir, pose_maker=pose_maker,
                                 symlink=args.symlink, progress=lambda name: print(f"  {name}", file=sys.stderr))
    finally:
        if pose_maker is not None:
            pose_maker.close()
    for video, reason in report.skipped:
        print(f"skipped {video}: {reason}", file=sys.stderr)
    frames = sum(entry["num_frames"] for entry in report.entries)
    print(f"wrote {report.output_dir} ({len(report.entries)} videos, {frames} frames; {len(report.skipped)} skipped)")


# A later `data synth` registers itself here.
SUBCOMMANDS = [register_prepare]
