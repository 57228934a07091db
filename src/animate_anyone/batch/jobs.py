"""Batch jobs: a JSON-lines file of `animate` runs, read and checked before anything runs.

One JSON object a line: `reference`, `pose` and `output`, plus any per-job option of `animate` named
as its flag without the leading dashes (`steps`, `seed`, `context_frames` or `context-frames`,
`no_align`: true, ...). Options a job does not set take the batch command line's values; those of
BATCH_WIDE are the command line's alone (one pipeline and one signing identity per process). Input paths
(`reference`, `pose`, `dwpose_detector`, `dwpose_model`) are read relative to the JOBS file's folder;
`output` (an .mp4) and `contact_sheet` are names inside the output folder. Blank lines are skipped.

Every line is checked (JSON, option names and types, files present, output names unique) and all the
bad ones are reported together, so a batch never starts with a mistake that would stop it halfway.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from animate_anyone.cli.animate import CONTACT_SHEET_SUFFIXES
from animate_anyone.data.video_io import check_pixel_count
from animate_anyone.errors import InputError

# One pipeline (model, sampler, device, dtype, how its weights are held, VAE tiling, compilation) and one signing
# identity per process: set on the command line.
BATCH_WIDE = ("model", "scheduler", "device", "dtype", "low_memory", "vae_tiling", "compile", "parallel",
              "c2pa_cert", "c2pa_key")
INPUT_PATHS = ("reference", "pose", "dwpose_detector", "dwpose_model")
STATE_FOLDER = ".batch-state"  # inside the output folder (batch/manifest.py)
# Where a job runs, how the weights are held and whether the UNet is compiled do not change what it makes;
# `signing` is the credentials read from c2pa_cert/c2pa_key.
NOT_IN_FINGERPRINT = ("func", "device", "low_memory", "compile", "parallel", "signing")


class JobOptionParser(argparse.ArgumentParser):
    """An argument parser whose errors raise `InputError` instead of exiting (one job's options)."""

    def error(self, message: str):
        raise InputError(message)


@dataclass(frozen=True)
class Job:
    """One line of the JOBS file: `options` is a complete `animate` namespace (paths absolute)."""

    line: int
    name: str  # `output` as written in the line: the job's identity in the manifest
    options: argparse.Namespace
    fingerprint: str  # hash of every option that decides the output: a changed job is run again

    @property
    def outputs(self) -> list[Path]:
        return [Path(path) for path in (self.options.output, self.options.contact_sheet) if path]


@dataclass(frozen=True)
class JobError:
    line: int
    message: str


def read_jobs(jobs_file: str | os.PathLike, option_parser: argparse.ArgumentParser,
              output_dir: Path) -> tuple[list[Job], list[JobError]]:
    """Every job of `jobs_file`, and one error per bad line. `option_parser` parses one `animate`
    command line (its defaults already set to the batch's), raising `InputError` on bad options."""
    jobs_file = Path(jobs_file)
    if not jobs_file.is_file():
        raise InputError(f"jobs file not found: {jobs_file}")
    try:
        lines = jobs_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{jobs_file} is not UTF-8 text: {error}") from None
    jobs, errors, owners = [], [], {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            job = _read_job(number, text, option_parser, jobs_file.resolve().parent, output_dir)
            for path in job.outputs:
                if path in owners:
                    raise InputError(f"output {path.relative_to(output_dir)} is also written by line {owners[path]}")
                owners[path] = number
        except InputError as error:
            errors.append(JobError(number, str(error)))
        else:
            jobs.append(job)
    if not jobs and not errors:
        raise InputError(f"no jobs in {jobs_file}")
    return jobs, errors


def check_jobs(jobs: list[Job], check: Callable[[argparse.Namespace], None]) -> list[JobError]:
    """Run `check` (raising `InputError`) on every job's options; one error per bad job."""
    errors = []
    for job in jobs:
        try:
            check(job.options)
        except InputError as error:
            errors.append(JobError(job.line, str(error)))
    return errors


def _read_job(line: int, text: str, option_parser: argparse.ArgumentParser, input_dir: Path,
              output_dir: Path) -> Job:
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"not a JSON object: {error}") from None
    if not isinstance(fields, dict):
        raise InputError(f"not a JSON object: a line holds one {{...}} per job, got {type(fields).__name__}")
    argv = []
    for key, value in fields.items():
        name = key.replace("_", "-")
        if name.replace("-", "_") in BATCH_WIDE or name == "help":
            raise InputError(f"{key!r} is set for the whole batch on the command line, not per job")
        if isinstance(value, bool):
            argv += [f"--{name}"] if value else []  # switches (no_align): true sets them
        elif isinstance(value, (str, int, float)):
            argv.append(f"--{name}={value}")  # one token: a value may start with "-"
        else:
            raise InputError(f"{key!r} must be a string, a number or true, got {json.dumps(value)}")
    options = option_parser.parse_args(argv)
    given = {key.replace("-", "_") for key in fields}
    for key in INPUT_PATHS:
        if getattr(options, key, None) and key in given:  # the command line's own stay relative to the cwd
            setattr(options, key, str(input_dir / getattr(options, key)))
    name = _output_name(options.output, (".mp4",), "output")
    options.output = str(output_dir / name)
    if options.contact_sheet:
        options.contact_sheet = str(output_dir / _output_name(options.contact_sheet, CONTACT_SHEET_SUFFIXES,
                                                              "contact_sheet"))
    _check_inputs_exist(options)
    return Job(line, str(name), options, _fingerprint(options))


def _output_name(value: str, suffixes: tuple[str, ...], key: str) -> PurePosixPath:
    name = PurePosixPath(value)
    if name.is_absolute() or ".." in name.parts or not name.parts or name.parts[0] == STATE_FOLDER:
        raise InputError(f"{key} must be a name inside the output folder, got {value!r}")
    if name.suffix.lower() not in suffixes:
        raise InputError(f"{key} must be a {' or '.join(suffixes)} file, got {value!r}")
    return name


def _check_inputs_exist(options: argparse.Namespace) -> None:
    reference = Path(options.reference)
    if not reference.is_file():
        raise InputError(f"image not found: {reference}")
    try:  # the header only: the whole image is decoded when the job runs
        with warnings.catch_warnings():  # Pillow's bomb warning: our own limit speaks
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(reference) as image:
                check_pixel_count(image.width, image.height, f"image {reference}")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise InputError(f"cannot read image {reference}: {error}") from None
    if not Path(options.pose).exists():
        raise InputError(f"pose input not found: {options.pose}")
    for key in ("dwpose_detector", "dwpose_model"):
        path = getattr(options, key, None)
        if path and not Path(path).is_file():
            raise InputError(f"{key} file not found: {path}")


def _fingerprint(options: argparse.Namespace) -> str:
    decisive = {key: value for key, value in vars(options).items() if key not in NOT_IN_FINGERPRINT}
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()[:16]
