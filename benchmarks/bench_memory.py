"""Peak memory of `convert`, loading and inference at full SD-1.5 size, one process per configuration.

Each configuration runs in a fresh child process; its peak is the kernel's resident-set high-water mark
(`ru_maxrss` of that child, from `os.wait4`), so one configuration's memory never shows in another's.
Memory figures do not depend on the machine's load; the seconds printed beside them do.

    python benchmarks/bench_memory.py prepare --workdir DIR
        release-layout .pth files (the key names and shapes of ../shared/reference/checkpoint_keys,
        random values) and an SD image-variations base folder (SD VAE, CLIP ViT-L/14), about 10 GB;
    python benchmarks/bench_memory.py measure --workdir DIR [--source OTHER_CHECKOUT]
        [--configs convert load-fp32 load-bf16 infer-8 infer-16 infer-24 lowmem-8 lowmem-16 lowmem-24]
        `convert` of those files into DIR/pipeline (written on first use), loading that folder, and one
        `animate`-like call (reference, 1 guided DDIM step, VAE decode; 256x192, guidance 3.5) per frame
        count (`infer-N`), or the same with weights on demand (`lowmem-N`, `animate --low-memory`).
        `--source` runs the children on another checkout's `src` (e.g. the code before a change), so that
        both are measured by the same script. `decode-H` / `decode_tiled-H`: the SD VAE alone decoding one
        frame of H x 2H/3 pixels (the pipeline's chunked decode at that size), without / with diffusers'
        tiled decoding (`--vae-tiling`): `decode_peak_gib` is the child's peak when the decode is done (the
        tiled child then decodes untiled too, for the largest pixel difference, which the random
        weights exaggerate: their decoder is not smooth across a seam).

Run full-size measurements one at a time (each needs up to ~16 GB).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REFERENCE_KEYS = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "checkpoint_keys"
CONFIGS = ["convert", "load-fp32", "load-bf16", "infer-8", "infer-16", "infer-24", "lowmem-8", "lowmem-16",
           "lowmem-24", "decode-768", "decode_tiled-768", "decode-1536", "decode_tiled-1536"]
HEIGHT, WIDTH, GUIDANCE = 256, 192, 3.5


def gib(n_bytes: float) -> float:
    return n_bytes / 2**30


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- prepare (run once)
def random_release_file(name: str, path: Path) -> None:
    """A `.pth` with the released key names and shapes; norms 1/0, other weights N(0, 0.02)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    state = {}
    for line in (REFERENCE_KEYS / f"{name}.txt").read_text().splitlines():
        if not line.strip():
            continue
        key, shape = line.split("\t")
        shape = ast.literal_eval(shape)
        if "norm" in key and key.endswith(".weight"):
            state[key] = torch.ones(shape)
        elif key.endswith(".bias") or key.endswith(".pe"):
            state[key] = torch.zeros(shape)
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.02
    torch.save(state, path)


def prepare(workdir: Path) -> None:
    import torch
    from diffusers import AutoencoderKL
    from gpu_check import CLIP_VIT_L14, SD15_VAE
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from animate_anyone.models.builders import SD15_UNET2D_CONFIG

    release, base = workdir / "release", workdir / "base"
    release.mkdir(parents=True, exist_ok=True)
    for name in ("pose_guider", "motion_module", "reference_unet", "denoising_unet"):
        if not (release / f"{name}.pth").is_file():
            random_release_file(name, release / f"{name}.pth")
            print(f"wrote {release / name}.pth", flush=True)
    if not (base / "image_encoder").is_dir():
        torch.manual_seed(0)
        AutoencoderKL(**SD15_VAE).save_pretrained(base / "vae")
        CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_VIT_L14)).save_pretrained(base / "image_encoder")
        (base / "unet").mkdir(exist_ok=True)
        config = dict(SD15_UNET2D_CONFIG, _class_name="UNet2DConditionModel")
        (base / "unet" / "config.json").write_text(json.dumps(config, indent=1))
        print(f"wrote {base}", flush=True)


# ---------------------------------------------------------------- children
def child(kind: str, workdir: Path, frames: int) -> None:
    """Run one configuration; print one JSON line of what it saw besides the peak."""
    import numpy as np
    import torch
    from diffusers.utils import logging as diffusers_logging

    diffusers_logging.set_verbosity_error()
    report: dict[str, float | str] = {}
    start = time.perf_counter()
    if kind == "convert":
        output = workdir / f"convert-{os.getpid()}"
        from animate_anyone.cli import main as cli_main

        code = cli_main(["convert", str(workdir / "release"), "--base", str(workdir / "base"), "--output", str(output)])
        sizes = {part.name: sum(f.stat().st_size for f in part.rglob("*") if f.is_file())
                 for part in output.iterdir() if part.is_dir()}
        report.update(code=code, largest_component=max(sizes, key=sizes.get),
                      largest_component_gib=gib(max(sizes.values())), folder_gib=gib(sum(sizes.values())))
        pipeline_dir = workdir / "pipeline"
        if not pipeline_dir.exists():
            os.replace(output, pipeline_dir)
        else:
            shutil.rmtree(output)
    elif kind in ("decode", "decode_tiled"):
        report.update(decode_one_frame(workdir, frames, tiled=kind == "decode_tiled"))
    else:
        from animate_anyone.pipelines.loading import load_pipeline

        dtype = torch.bfloat16 if kind == "load-bf16" else torch.float32
        options = {"weights_on_demand": True} if kind == "lowmem" else {}
        pipeline = load_pipeline(workdir / "pipeline", torch.device("cpu"), dtype, **options)
        report["resident_after_load_gib"] = gib(resident_bytes())
        report["load_s"] = time.perf_counter() - start
        report["weights_gib"] = gib(sum(t.numel() * t.element_size() for m in pipeline.components.values()
                                        if isinstance(m, torch.nn.Module) for t in m.state_dict().values()))
        if kind in ("infer", "lowmem"):
            from animate_anyone.runtime import use_channels_last

            use_channels_last(pipeline)
            pipeline.set_progress_bar_config(disable=True)
            rng = np.random.default_rng(0)
            reference = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            poses = rng.integers(0, 256, (frames, HEIGHT, WIDTH, 3), dtype=np.uint8)
            start = time.perf_counter()
            video = pipeline(reference, poses, height=HEIGHT, width=WIDTH, num_inference_steps=1,
                             guidance_scale=GUIDANCE, generator=torch.Generator().manual_seed(0),
                             output_type="np").frames
            report["call_s"] = time.perf_counter() - start
            report["frames_shape"] = str(tuple(video.shape))
    print(json.dumps(report), flush=True)


def decode_one_frame(workdir: Path, height: int, tiled: bool) -> dict:
    """Decode one random latent frame of `height` x 2*`height`/3 pixels with the SD VAE (fp32)."""
    import torch
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(workdir / "base" / "vae").eval()
    latents = torch.randn(1, 4, height // 8, height // 12, generator=torch.Generator().manual_seed(0))
    before = resident_bytes()
    start = time.perf_counter()
    with torch.no_grad():
        if tiled:
            vae.enable_tiling()
        frame = vae.decode(latents).sample
        report = {"decode_s": time.perf_counter() - start, "resident_before_decode_gib": gib(before),
                  "decode_peak_gib": gib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)}
        if tiled:  # after the peak was read: the untiled decode for the comparison has its own
            vae.disable_tiling()
            report["max_abs_diff_vs_untiled"] = float((frame - vae.decode(latents).sample).abs().max() / 2)
    return report


def measure(workdir: Path, configs: list[str], source: Path | None) -> None:
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source / "src"), env.get("PYTHONPATH", "")])
    label = str(source) if source else "this checkout"
    print(f"children on {label}; {HEIGHT}x{WIDTH}, guidance {GUIDANCE}, fp32 unless named\n", flush=True)
    print("| configuration | peak RSS (GiB) | details |\n|---|---|---|", flush=True)
    for config in configs:
        kind, _, frames = config.partition("-")
        kind, frames = (kind, frames) if kind in ("infer", "lowmem", "decode", "decode_tiled") else (config, "0")
        command = [sys.executable, __file__, "child", "--kind", kind, "--workdir", str(workdir),
                   "--frames", frames]
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        peak = usage.ru_maxrss * 1024  # KiB on Linux
        lines = [line for line in output.splitlines() if line.startswith("{")]
        details = json.loads(lines[-1]) if lines and os.waitstatus_to_exitcode(status) == 0 else {"failed": status}
        shown = ", ".join(f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
                          for key, value in details.items())
        print(f"| {config} | {gib(peak):.2f} | {shown} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["prepare", "measure", "child"])
    parser.add_argument("--workdir", type=Path, required=True, help="folder for the full-size files (~20 GB)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=CONFIGS)
    parser.add_argument("--source", type=Path, default=None, help="run the children on this checkout's src")
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.action == "prepare":
        prepare(args.workdir)
    elif args.action == "measure":
        measure(args.workdir, args.configs, args.source)
    else:
        child(args.kind, args.workdir, args.frames)


if __name__ == "__main__":
    main()
