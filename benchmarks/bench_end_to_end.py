"""`animate` end to end at full SD-1.5 size: the defaults before issue 13 against today's, one child each.

    python benchmarks/bench_end_to_end.py --workdir DIR [--frames 24] [--variants before now]

DIR holds the full-size pipeline folder `bench_memory.py` writes (`prepare`, then `measure --configs
convert`: DIR/pipeline, random weights with the published layout). Each variant is one `animate-anyone
animate` child (a fresh process: start-up, loading, pose reading, generation, encoding and the
watermark all count), 256x192, the first `--frames` frames of dance1_kps.mp4, ref_man_photo.png:

    before  the defaults before issue 13: fp32, all weights resident, 25 DDIM steps, guidance 3.5
            (`--dtype fp32 --no-low-memory --scheduler ddim --steps 25 --guidance 3.5`)
    now     no option: this checkout's defaults (`--dtype auto`, weights on demand on the CPU, the
            sampler, steps and guidance `convert` writes into a published model's folder,
            PUBLISHED_DEFAULTS)

The folder's generation_defaults.json is first made what `convert` writes today. Printed per variant:
wall seconds, the child's peak resident set (`ru_maxrss`), and the ratios now / before. Run it alone on
the machine: the seconds depend on the load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

MEDIA = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "media"
VARIANTS = {
    "before": ["--dtype", "fp32", "--no-low-memory", "--scheduler", "ddim", "--steps", "25", "--guidance", "3.5"],
    "now": [],
}
HEIGHT, WIDTH = 256, 192


def run_variant(name: str, workdir: Path, frames: int) -> tuple[float, float]:
    """(wall seconds, peak resident GiB) of one `animate` child."""
    output = workdir / f"end_to_end_{name}.mp4"
    command = [sys.executable, "-m", "animate_anyone.cli", "animate", "--model", str(workdir / "pipeline"),
               "--reference", str(MEDIA / "ref_man_photo.png"), "--pose", str(MEDIA / "dance1_kps.mp4"),
               "--frames", str(frames), "--width", str(WIDTH), "--height", str(HEIGHT),
               "--output", str(output), *VARIANTS[name]]
    print(f"{name}: {' '.join(command[3:])}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 2**20  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="bench_memory.py's folder (DIR/pipeline)")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()

    from animate_anyone.pipelines.loading import PUBLISHED_DEFAULTS, write_generation_defaults

    write_generation_defaults(args.workdir / "pipeline", PUBLISHED_DEFAULTS)
    results = {name: run_variant(name, args.workdir, args.frames) for name in args.variants}
    print(f"\n{args.frames} frames at {WIDTH}x{HEIGHT}, {os.environ.get('OMP_NUM_THREADS', 'all')} threads\n")
    print("| variant | seconds | peak GiB | time vs before | peak vs before |\n|---|---|---|---|---|")
    for name, (seconds, peak) in results.items():
        base = results.get("before")
        ratios = f"{seconds / base[0]:.3f} | {peak / base[1]:.3f}" if base else "— | —"
        print(f"| {name} | {seconds:.1f} | {peak:.2f} | {ratios} |")


if __name__ == "__main__":
    main()
