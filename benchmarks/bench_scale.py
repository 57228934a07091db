"""Scaling inference over processes on one machine: batch jobs per hour, window-parallel speed-up.

* batch: the same JOBS file (N jobs of the shipped tiny128 model: 128x128, `--frames` pose frames of
  ../shared/reference/media/dance1_kps.mp4, `--steps` DDIM steps, a seed each) run by
  `animate-anyone batch` in one process with 1 and with 2 threads, and under `accelerate launch` as
  2 processes with 1 thread each (configs/accelerate/cpu.yaml). Jobs/hour from the batch's own time (jobs only)
  and from the command's wall time (start-up and model loading included).
* windows: one video of 4 temporal windows (26 frames of dance1_kps.mp4, windows of 8 overlapping by
  2), the pipeline call timed (denoising, no decoding): one process with 1 and with 2 threads against
  window-parallel denoising by 2 processes of 1 thread. The final latents are compared too.

The sides alternate, `--repeats` times each; medians are reported (a shared machine's timings drift).

    python benchmarks/bench_scale.py [--parts batch windows] [--jobs 8] [--frames 12] [--steps 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "reference" / "media"
BIN = Path(sys.executable).parent
CPU_CONFIG = REPO / "configs" / "accelerate" / "cpu.yaml"
REFERENCES = ["ref_anime_woman.png", "ref_man_photo.png"]
GUIDANCE = 3.5  # both parts guided (two UNet passes a window), as the published models are run


def launcher(processes: int, port: int) -> list[str]:
    if processes == 1:
        return [str(BIN / "animate-anyone")]
    return [str(BIN / "accelerate"), "launch", "--config_file", str(CPU_CONFIG), "--num_processes", str(processes),
            "--main_process_port", str(port), "-m", "animate_anyone.cli"]


def run(command: list[str], threads: int) -> tuple[float, str]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{completed.stderr[-3000:]}")
    return wall, completed.stdout


def bench_batch(args: argparse.Namespace, work: Path) -> None:
    jobs_file = work / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps({
        "reference": str(MEDIA / REFERENCES[index % len(REFERENCES)]), "pose": str(MEDIA / "dance1_kps.mp4"),
        "output": f"job{index:02d}.mp4", "seed": index}) + "\n" for index in range(args.jobs)))
    options = ["--frames", str(args.frames), "--steps", str(args.steps), "--guidance", str(GUIDANCE)]
    sides = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}
    results: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
    for repeat in range(args.repeats):
        for side, (processes, threads) in sides.items():
            output_dir = work / f"batch-{processes}-{threads}-{repeat}"
            command = [*launcher(processes, 29600 + repeat), "batch", str(jobs_file), "--output-dir", str(output_dir),
                       *options]
            wall, stdout = run(command, threads)
            batch_seconds = float(re.search(rf"batch: {args.jobs} done, 0 failed, 0 skipped in ([0-9.]+) s",
                                            stdout).group(1))
            results[side].append((batch_seconds, wall))
            print(f"  {side}, run {repeat + 1}: jobs {batch_seconds:.1f} s, wall {wall:.1f} s", flush=True)
    print(f"\nbatch: {args.jobs} jobs (tiny128, 128x128, {args.frames} frames, {args.steps} steps, "
          f"guidance {GUIDANCE}), median of {args.repeats}")
    print("| side | jobs time (s) | jobs/hour (jobs only) | wall (s) | jobs/hour (wall) |\n|---|---|---|---|---|")
    medians = {}
    for side, runs in results.items():
        jobs_time, wall = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        medians[side] = (jobs_time, wall)
        print(f"| {side} | {jobs_time:.1f} | {3600 * args.jobs / jobs_time:.0f} | {wall:.1f} | "
              f"{3600 * args.jobs / wall:.0f} |")
    one, two = medians["1 process x 2 threads"], medians["2 processes x 1 thread"]
    print(f"2 processes x 1 thread / 1 process x 2 threads: jobs/hour x{one[0] / two[0]:.2f} (jobs only), "
          f"x{one[1] / two[1]:.2f} (wall)")


WINDOW_FRAMES, CONTEXT_FRAMES, CONTEXT_OVERLAP = 26, 8, 2  # windows start at 0, 6, 12, 18


def windows_worker(args: argparse.Namespace) -> None:
    """One timed pipeline call (denoising only: latents out), run alone or under accelerate launch."""
    import torch

    from animate_anyone.data.video_io import load_image
    from animate_anyone.distributed import WindowSharing, process_state
    from animate_anyone.pipelines.context import context_windows
    from animate_anyone.pipelines.loading import load_pipeline
    from animate_anyone.pose.sources import load_pose_sequence

    assert len(context_windows(WINDOW_FRAMES, CONTEXT_FRAMES, CONTEXT_OVERLAP)) == 4
    state = process_state()
    pipe = load_pipeline(None, torch.device("cpu"), torch.float32)
    pipe.set_progress_bar_config(disable=True)
    reference = load_image(MEDIA / REFERENCES[0])
    poses = load_pose_sequence(MEDIA / "dance1_kps.mp4", max_frames=WINDOW_FRAMES).images
    sharing = WindowSharing(state) if state.num_processes > 1 else None
    state.wait_for_everyone()
    start = time.perf_counter()
    latents = pipe(reference, poses, height=128, width=128, num_inference_steps=args.steps, guidance_scale=GUIDANCE,
                   context_frames=CONTEXT_FRAMES, context_overlap=CONTEXT_OVERLAP, output_type="latent",
                   generator=torch.Generator().manual_seed(0), window_sharing=sharing).frames
    seconds = time.perf_counter() - start
    if state.is_main_process:
        torch.save(latents, args.worker)
        print(f"seconds {seconds:.3f}")


def bench_windows(args: argparse.Namespace, work: Path) -> None:
    sides = {"1 process x 1 thread": (1, 1), "1 process x 2 threads": (1, 2), "2 processes x 1 thread": (2, 1)}
    results: dict[str, list[float]] = {side: [] for side in sides}
    latents = {}
    for repeat in range(args.repeats):
        for side, (processes, threads) in sides.items():
            target = work / f"latents-{processes}-{threads}.pt"
            if processes == 1:
                command = [sys.executable, __file__]
            else:
                command = [str(BIN / "accelerate"), "launch", "--config_file", str(CPU_CONFIG), "--num_processes",
                           str(processes), "--main_process_port", str(29650 + repeat), __file__]
            _, stdout = run([*command, "--worker", str(target), "--steps", str(args.steps)], threads)
            results[side].append(float(re.search(r"seconds ([0-9.]+)", stdout).group(1)))
            latents[side] = target
            print(f"  {side}, run {repeat + 1}: denoising {results[side][-1]:.2f} s", flush=True)
    import torch

    reference = torch.load(latents["1 process x 1 thread"])
    print(f"\nwindows: {WINDOW_FRAMES} frames in 4 windows ({CONTEXT_FRAMES} frames, overlap {CONTEXT_OVERLAP}), "
          f"tiny128 at 128x128, {args.steps} steps, guidance {GUIDANCE}; denoising loop only, median of {args.repeats}")
    print("| side | denoising (s) | speed-up vs 1 process x 1 thread | max abs latent difference |\n|---|---|---|---|")
    base = statistics.median(results["1 process x 1 thread"])
    for side, runs in results.items():
        difference = (torch.load(latents[side]) - reference).abs().max().item()
        print(f"| {side} | {statistics.median(runs):.2f} | x{base / statistics.median(runs):.2f} | {difference:.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["batch", "windows"], choices=["batch", "windows"])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: one timed windows run
    args = parser.parse_args()
    if args.worker:
        return windows_worker(args)
    print(f"{time.strftime('%Y-%m-%d %H:%M')} load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as work:
        if "batch" in args.parts:
            bench_batch(args, Path(work))
        if "windows" in args.parts:
            bench_windows(args, Path(work))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
