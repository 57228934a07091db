"""How much a tiny128 model uses its reference (issue 14's diagnosis), on held-out test characters.

* identity: the reference frame is also the target (its own pose, 4 frames). A model whose
  conditioning path works copies it, close to the VAE round trip of the frame (the bound); L1 over
  the frame, the character and the background (the renderer's character mask).
* moved: frames 1..F driven by their poses, the benchmark's task, for comparison.
* read attention: in every reference-reading self-attention of the denoising UNet (conditional
  pass, every step), the share of each query's attention that goes to the reference tokens, split by
  whether the query's position is background or character in the target. Own and reference tokens
  are equally many, so 0.5 is what uniform attention gives.

    python benchmarks/bench_reference_use.py [--model tiny128] [--characters 6] [--frames 8] [--steps 20]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch
from bench_tiny_model import vae_round_trip
from torch.nn import functional as F

from animate_anyone.data.synthetic import generate_clip, split_seeds
from animate_anyone.models.reference_attention import ReferenceAttnProcessor
from animate_anyone.pipelines.loading import SHIPPED_MODEL, load_pipeline


class ReferenceShareRecorder(ReferenceAttnProcessor):
    """The default reference-reading processor that also records, per query, the share of attention
    on the reference tokens, for the attention rows that read them."""

    def __init__(self, records: dict, target_masks: dict):
        self.records, self.target_masks = records, target_masks

    # Every keyword named: diffusers' `Attention.forward` passes a processor only the ones it names.
    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None,
                 reference_keys=None, reference_values=None, reference_sources=None):
        if reference_keys is not None:
            self.record(attn, hidden_states, reference_keys, reference_sources)
        return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                                reference_keys, reference_values, reference_sources)

    @torch.no_grad()
    def record(self, attn, hidden_states, reference_keys, reference_sources) -> None:
        frames = self.target_masks["masks"]  # (F, H, W) bool: the character in each target frame
        reads = reference_sources >= 0  # (rows,): the unconditional half of guidance reads nothing
        own = hidden_states[reads]
        query, key = attn.to_q(own), attn.to_k(own)
        reference = reference_keys[reference_sources[reads]]
        heads, length = attn.heads, own.shape[1]
        split = lambda x: x.unflatten(-1, (heads, -1)).transpose(1, 2)  # noqa: E731
        weights = torch.softmax(split(query) @ split(torch.cat([key, reference], 1)).transpose(-1, -2) * attn.scale, -1)
        share = weights[..., length:].sum(-1).mean(1)  # (rows, L)
        side = int(round(length ** 0.5))
        character = F.interpolate(frames[:, None].float(), size=(side, side), mode="area")[:, 0] >= 0.5
        character = character.flatten(1).repeat(len(own) // len(frames), 1)
        self.records[side]["background"].append(share[~character])
        self.records[side]["character"].append(share[character])


def region_l1(generated: np.ndarray, truth: np.ndarray, character: np.ndarray) -> np.ndarray:
    error = np.abs(generated - truth).mean(-1)
    return np.array([error.mean(), error[character].mean(), error[~character].mean()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SHIPPED_MODEL, help="the shipped model (default) or a pipeline folder")
    parser.add_argument("--characters", type=int, default=6)
    parser.add_argument("--frames", type=int, default=8, help="moved frames per character")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=2.0)
    args = parser.parse_args()
    pipeline = load_pipeline(args.model, torch.device("cpu"), torch.float32)
    pipeline.register_modules(vae=load_pipeline(SHIPPED_MODEL, torch.device("cpu"), torch.float32).vae)
    pipeline.set_progress_bar_config(disable=True)
    records = defaultdict(lambda: defaultdict(list))
    target_masks = {}
    recorder = ReferenceShareRecorder(records, target_masks)
    pipeline.unet.set_attn_processor({
        path: recorder if isinstance(processor, ReferenceAttnProcessor) else processor
        for path, processor in pipeline.unet.attn_processors.items()})
    rows = defaultdict(list)
    for index, seed in enumerate(split_seeds("test", args.characters, first=100)):
        clip = generate_clip(seed, num_frames=args.frames + 1)
        truth, poses, masks = clip.frames.astype(np.float32) / 255, clip.pose_maps(), clip.character_masks()
        for task, frames in (("identity", [0] * 4), ("moved", list(range(1, args.frames + 1)))):
            target_masks["masks"] = torch.from_numpy(masks[frames])
            generated = pipeline(clip.frames[0], poses[frames], height=128, width=128,
                                 num_inference_steps=args.steps, guidance_scale=args.guidance,
                                 generator=torch.Generator().manual_seed(index), output_type="np").frames[0]
            rows[task].append(region_l1(generated, truth[frames], masks[frames]))
        rows["VAE bound"].append(region_l1(vae_round_trip(pipeline.vae, truth[:1]), truth[:1], masks[:1]))
        print(f"character {index}: " + ", ".join(f"{task} L1 {values[-1][0]:.4f}" for task, values in rows.items()),
              flush=True)
    print(f"\n{args.model}: {args.characters} test characters, {args.steps} DDIM steps, guidance {args.guidance}\n")
    print("| L1 ↓ | frame | character | background |\n|---|---|---|---|")
    for task, values in rows.items():
        print(f"| {task} | " + " | ".join(f"{v:.4f}" for v in np.mean(values, 0)) + " |")
    print("\n| read attention | share on reference tokens, background queries | character queries |\n|---|---|---|")
    for side in sorted(records):
        shares = {region: torch.cat(values).mean().item() for region, values in records[side].items()}
        print(f"| {side}x{side} | {shares['background']:.3f} | {shares['character']:.3f} |")


if __name__ == "__main__":
    main()
