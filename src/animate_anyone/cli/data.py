"""`animate-anyone data ...`: dataset tools (`prepare`, `synth`; each subcommand is a `register_*` function below)."""

from __future__ import annotations

import argparse
import sys

from animate_anyone.cli.pose import add_backend_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="dataset tools: prepare a training dataset from videos, or synthesise one",
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
    add_backend_arguments(parser)
    parser.add_argument("--symlink", action="store_true", help="symlink videos instead of copying them")
    parser.set_defaults(func=run_prepare)


def run_prepare(args: argparse.Namespace) -> None:
    from animate_anyone.data.prepare import PoseVideoMaker, prepare_dataset

    pose_maker = None
    if args.pose_dir is None:
        pose_maker = PoseVideoMaker(args.backend, dwpose_detector=args.dwpose_detector, dwpose_model=args.dwpose_model)
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


def register_synth(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "synth", help="generate a dataset of procedural characters (videos/, poses/, kps/, meta.json)",
        description="Render procedural characters dancing (one clip per character seed) into a new dataset "
                    "folder with the layout of `data prepare`. Train and test seeds never overlap "
                    "(docs/synthetic.md).")
    parser.add_argument("--output", required=True, help="new dataset folder")
    parser.add_argument("--characters", type=int, required=True, help="number of clips (one character each)")
    parser.add_argument("--frames", type=int, default=48, help="frames per clip (default 48)")
    parser.add_argument("--size", default="128x128", help="WIDTHxHEIGHT of the videos (default 128x128)")
    parser.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    parser.add_argument("--split", default="train", choices=["train", "test"], help="seed range (default train)")
    parser.add_argument("--first", type=int, default=0, help="start at this seed offset within the split (default 0)")
    parser.set_defaults(func=run_synth)


def run_synth(args: argparse.Namespace) -> None:
    from animate_anyone.data.synthetic.dataset import parse_size, write_synthetic_dataset

    width, height = parse_size(args.size)
    report = write_synthetic_dataset(args.output, args.characters, args.frames, width, height, split=args.split,
                                     first=args.first, fps=args.fps,
                                     progress=lambda name: print(f"  {name}", file=sys.stderr))
    seeds = [entry["seed"] for entry in report.entries]
    print(f"wrote {report.output_dir} ({len(seeds)} {args.split} clips, seeds {seeds[0]}..{seeds[-1]}, "
          f"{args.frames} frames {width}x{height}; generated in {report.generate_seconds:.1f} s, "
          f"written in {report.write_seconds:.1f} s)")


SUBCOMMANDS = [register_prepare, register_synth]
