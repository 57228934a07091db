"""Model parts: per-frame motion norms, pose conditioning, reference attention, windows, builders."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0
from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

from animate_anyone.models import AnimateAnyoneUNet, PoseGuider
from animate_anyone.models.builders import denoising_unet_from_2d, motion_unet_config
from animate_anyone.models.motion_unet import FrameGroupNorm
from animate_anyone.models.reference_attention import (
    ReferenceBank,
    install_reference_reader,
    install_reference_writer,
)
from animate_anyone.pipelines.context import context_windows
from animate_anyone.testing import TINY_UNET2D_CONFIG, tiny_components


@pytest.fixture(scope="module")
def components():
    return tiny_components(seed=0)


def first_motion_module(unet) -> AnimateDiffTransformer3D:
    return next(m for m in unet.modules() if isinstance(m, AnimateDiffTransformer3D))


def test_motion_norm_statistics_are_per_frame(components):
    module = first_motion_module(components["unet"])
    assert isinstance(module.norm, FrameGroupNorm) and module.norm.num_groups == 32
    clip = torch.randn(1, module.norm.num_channels, 3, 4, 4)  # (B, C, F, H, W)
    changed = clip.clone()
    changed[:, :, 2] = 10 * torch.randn_like(changed[:, :, 2]) + 5
    normed, normed_changed = module.norm(clip), module.norm(changed)
    torch.testing.assert_close(normed[:, :, :2], normed_changed[:, :, :2], rtol=0, atol=0)
    # each frame on its own is a plain GroupNorm of that frame
    torch.testing.assert_close(normed[:, :, 1], torch.nn.functional.group_norm(
        clip[:, :, 1], 32, module.norm.weight, module.norm.bias, module.norm.eps))


def test_temporal_attention_mixes_frames(components):
    module = first_motion_module(components["unet"])
    frames = 3
    clip = torch.randn(frames, module.norm.num_channels, 4, 4)  # (B*F, C, H, W) as the UNet calls it
    changed = clip.clone()
    changed[2] = torch.randn_like(changed[2])
    with torch.no_grad():
        out, out_changed = module(clip, num_frames=frames), module(changed, num_frames=frames)
    assert (out[0] - out_changed[0]).abs().max() > 1e-4  # frame 0 sees frame 2


def test_unet_keeps_per_frame_norms_through_save_and_load(components, tmp_path):
    components["unet"].save_pretrained(tmp_path)
    loaded = AnimateAnyoneUNet.from_pretrained(tmp_path)
    assert isinstance(first_motion_module(loaded).norm, FrameGroupNorm)
    assert loaded.config._class_name == "AnimateAnyoneUNet"


def test_pose_features_enter_after_conv_in(components):
    unet = components["unet"]
    sample = torch.randn(1, 4, 2, 4, 4)
    seen = []
    hook = unet.down_blocks[0].resnets[0].register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(args[0] if args else kwargs["input_tensor"]), with_kwargs=True)
    features = torch.randn(1, unet.config.block_out_channels[0], 2, 4, 4)
    with torch.no_grad():
        unet(sample, 10, torch.randn(1, 1, 32))
        unet(sample, 10, torch.randn(1, 1, 32), pose_features=features)
    hook.remove()
    # the first down block receives conv_in(x) + pose, frames folded frame-major into the batch
    torch.testing.assert_close(seen[1] - seen[0], features.transpose(1, 2).flatten(0, 1))
    with pytest.raises(ValueError, match="pose_features"):
        unet(sample, 10, torch.randn(1, 1, 32), pose_features=features[:, :, :1])


def test_pose_guider_shapes_and_zero_init():
    guider = PoseGuider(conditioning_embedding_channels=32, block_out_channels=(16, 32, 96, 256))
    assert guider.downscale_factor == 8
    out = guider(torch.rand(2, 3, 64, 48))
    assert out.shape == (2, 32, 8, 6)
    assert torch.count_nonzero(out) == 0  # a new guider starts from "no pose"
    names = [name for name, _ in guider.named_parameters()]
    assert names[:2] == ["conv_in.weight", "conv_in.bias"] and "blocks.5.weight" in names and names[-1] == "conv_out.bias"


def test_new_motion_modules_start_as_identity():
    torch.manual_seed(0)
    unet2d = UNet2DConditionModel(**TINY_UNET2D_CONFIG)
    unet = denoising_unet_from_2d(unet2d)
    sample = torch.randn(1, 4, 3, 8, 8)
    hidden = torch.randn(1, 1, 32)
    with torch.no_grad():
        video = unet(sample, 50, hidden).sample
        per_frame = [unet2d(sample[:, :, f], 50, hidden).sample for f in range(3)]
    torch.testing.assert_close(video, torch.stack(per_frame, dim=2), atol=1e-5, rtol=1e-4)


def test_motion_unet_config_reads_sd_layout():
    config = motion_unet_config(dict(TINY_UNET2D_CONFIG), motion_max_seq_length=128)
    assert config["down_block_types"] == ["CrossAttnDownBlockMotion", "DownBlockMotion"]
    assert config["num_attention_heads"] == 4 and config["motion_max_seq_length"] == 128
    with pytest.raises(ValueError, match="class_embed_type"):
        motion_unet_config({**TINY_UNET2D_CONFIG, "class_embed_type": "timestep"})


def naive_reference_attention(attn, hidden_states, reference_tokens):
    """Reference attention as the published code does it: concatenate tokens, then project."""
    frames = hidden_states.shape[0]
    context = torch.cat([hidden_states, reference_tokens.expand(frames, -1, -1)], dim=1)
    return AttnProcessor2_0()(attn, hidden_states, encoder_hidden_states=context)


def test_cached_reference_keys_values_equal_naive_concatenation(components):
    reference_net, unet = components["reference_net"], components["unet"]
    bank = ReferenceBank()
    paths = install_reference_writer(reference_net, bank)
    assert install_reference_reader(unet, bank) == paths and len(paths) == 4  # down 0, mid, up 1 (x2)
    with torch.no_grad():
        reference_net(torch.randn(1, 4, 4, 4), 0, encoder_hidden_states=torch.randn(1, 1, 32))
        assert set(bank.tokens) == set(paths)
        path = paths[0]
        attn = unet.get_submodule(f"{path}.attn1")
        hidden = torch.randn(3, bank.tokens[path].shape[1], attn.to_q.in_features)
        ours = attn(hidden)
        bank_tokens = bank.tokens.pop(path)
        expected = naive_reference_attention(attn, hidden, bank_tokens)
        plain = attn(hidden)  # no tokens for this block: plain self-attention
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
    assert (ours - plain).abs().max() > 1e-3


def test_sources_select_samples_that_see_the_reference(components):
    reference_net, unet = components["reference_net"], components["unet"]
    bank = ReferenceBank()
    install_reference_writer(reference_net, bank)
    install_reference_reader(unet, bank)
    with torch.no_grad():
        reference_net(torch.randn(1, 4, 4, 4), 0, encoder_hidden_states=torch.randn(1, 1, 32))
        path = next(iter(bank.tokens))
        attn = unet.get_submodule(f"{path}.attn1")
        hidden = torch.randn(2, 16, attn.to_q.in_features).repeat_interleave(2, dim=0)  # 2 samples x 2 frames
        bank.sources = torch.tensor([-1, 0])
        mixed = attn(hidden)
        bank.sources = None
        reading = attn(hidden)
        tokens = bank.tokens.pop(path)
        plain = attn(hidden)
        bank.tokens[path] = tokens
        bank.sources = torch.tensor([-1, -1])
        nobody = attn(hidden)
    torch.testing.assert_close(mixed[:2], plain[:2])
    torch.testing.assert_close(mixed[2:], reading[2:])
    torch.testing.assert_close(nobody, plain)


@pytest.mark.parametrize("num_frames, size, overlap", [(1, 24, 4), (24, 24, 4), (25, 24, 4), (100, 24, 4), (13, 5, 2), (9, 4, 0)])
def test_context_windows_cover_every_frame_without_wrapping(num_frames, size, overlap):
    windows = context_windows(num_frames, size, overlap)
    covered = [frame for window in windows for frame in window]
    assert set(covered) == set(range(num_frames))
    assert all(list(w) == list(range(w.start, w.stop)) for w in windows)  # contiguous: no wrap to the start
    assert all(len(w) == min(size, num_frames) for w in windows)
    assert windows[0].start == 0 and windows[-1].stop == num_frames
    for before, after in zip(windows, windows[1:]):
        assert before.start < after.start and after.start <= before.stop - overlap


def test_context_windows_single_window_when_clip_fits():
    assert context_windows(10, 24, 4) == [range(10)]
    with pytest.raises(ValueError):
        context_windows(0, 24, 4)
    with pytest.raises(ValueError):
        context_windows(10, 4, 4)
