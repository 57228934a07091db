"""`animate-anyone batch JOBS.jsonl --output-dir DIR`: many `animate` runs, in one process or shared
between the processes of `accelerate launch` (docs/scale.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from animate_anyone.cli.animate import add_clip_arguments, add_generation_arguments, add_parallel_argument

NOT_JOB_DEFAULTS = ("func", "command", "jobs", "output_dir", "retry_failed")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="run many animate jobs from a JSON-lines file (one process, or many under accelerate launch)",
        description="Run the jobs of a JSON-lines file, one {...} a line: reference, pose, output (a name in "
                    "--output-dir) and any per-job option of `animate` under its flag's name (e.g. "
                    '{"reference": "a.png", "pose": "dance_kps.mp4", "output": "a.mp4", "seed": 3}); '
                    "the options below are the defaults of every job, except --model, --scheduler, --device, "
                    "--dtype, --low-memory, --vae-tiling, --compile, --parallel and --c2pa-cert/--c2pa-key, "
                    "which are the whole batch's. Each job runs and is written as `animate` would (watermark, "
                    "label, driving sound, C2PA). Input paths are read from the JOBS file's folder. Every "
                    "job is checked before any runs; DIR/manifest.json records each job's state, so a rerun "
                    "skips finished jobs. Under `accelerate launch` each process takes its share of the jobs "
                    "(with --parallel windows they run each job together). Exit code 1 when a job failed.")
    parser.add_argument("jobs", help="JSON-lines file of jobs")
    parser.add_argument("--output-dir", required=True, help="folder of the videos and manifest.json (created)")
    parser.add_argument("--retry-failed", action="store_true", help="run again the jobs that failed before")
    parser.add_argument("--model", default=None,
                        help="pipeline folder, 'tiny-random', or by default the shipped tiny128 model (one for "
                             "the whole batch)")
    add_clip_arguments(parser)
    add_generation_arguments(parser)
    add_parallel_argument(parser)  # windows: the processes run every job together instead of sharing the jobs
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from animate_anyone.batch.runner import stop_on_sigterm

    with stop_on_sigterm():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from animate_anyone.batch.jobs import check_jobs, read_jobs
    from animate_anyone.batch.manifest import Manifest
    from animate_anyone.batch.runner import run_jobs
    from animate_anyone.cli.animate import apply_model_defaults, check_clip_options, load_checked_pipeline, load_signing
    from animate_anyone.distributed import process_device, process_state
    from animate_anyone.errors import InputError

    state = process_state()
    output_dir = Path(args.output_dir).resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"--output-dir must be a folder, got the file {output_dir}")
    check_clip_options(args)
    load_signing(args)  # one signing identity for the whole batch
    width, height = apply_model_defaults(args)  # the model's steps and guidance: every job's defaults
    jobs, errors = read_jobs(args.jobs, _job_option_parser(args), output_dir)
    args.device = process_device(args.device, state)
    pipeline = load_checked_pipeline(args, width, height)
    errors += check_jobs(jobs, lambda options: _check_job(pipeline, options))
    if errors:
        if not state.is_main_process:
            return 2  # the main process reports
        for error in sorted(errors, key=lambda error: error.line):
            print(f"animate-anyone: error: {args.jobs} line {error.line}: {error.message}", file=sys.stderr)
        raise InputError(f"{len(errors)} bad job(s) in {args.jobs}: nothing was run")
    output_dir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(output_dir, Path(args.jobs).resolve())
    summary = run_jobs(jobs, manifest, lambda job: _run_job(pipeline, job.options), retry_failed=args.retry_failed,
                       share_jobs=args.parallel != "windows", state=state)
    if state.is_main_process:
        print("\n".join(summary.lines()))
        print(f"manifest: {manifest.path}")
    state.wait_for_everyone()  # a process that exits 1 makes the launcher stop the others: not before this
    return summary.exit_code


def _job_option_parser(args: argparse.Namespace) -> argparse.ArgumentParser:
    """`animate`'s own parser, raising instead of exiting, its defaults this batch's options."""
    from animate_anyone.batch.jobs import JobOptionParser
    from animate_anyone.cli import animate

    subparsers = JobOptionParser(add_help=False).add_subparsers(parser_class=JobOptionParser)
    animate.register(subparsers)
    parser = subparsers.choices["animate"]
    parser.allow_abbrev = False
    parser.set_defaults(**{key: value for key, value in vars(args).items() if key not in NOT_JOB_DEFAULTS})
    return parser


def _check_job(pipeline, options: argparse.Namespace) -> None:
    """`animate`'s checks of one job's options against the batch's pipeline (InputError)."""
    from animate_anyone.cli.animate import apply_model_defaults, check_clip_options, check_generation_options

    check_clip_options(options)
    check_generation_options(pipeline, options, *apply_model_defaults(options))


def _run_job(pipeline, options: argparse.Namespace) -> None:
    """One job, as `animate` runs it: the same code from the poses to the written (marked, labelled) video."""
    from animate_anyone.cli.animate import animate_to_file, apply_model_defaults
    from animate_anyone.data.video_io import load_image

    for path in (options.output, options.contact_sheet or options.output):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    reference = load_image(options.reference)
    animate_to_file(pipeline, options, reference, *apply_model_defaults(options))
