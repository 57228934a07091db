"""`animate-anyone evaluate`: folder matching, mismatch rules, output, caching and bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from animate_anyone import cli
from animate_anyone.data.video_io import read_video_frames, write_video
from animate_anyone.eval import evaluate, metrics


def moving_square(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """(F, H, W, 3) uint8: a textured background with a square moving across it."""
    rng = np.random.default_rng(seed)
    video = np.repeat(rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8), frames, axis=0)
    for f in range(frames):
        video[f, 4:12, 2 + f : 10 + f] = (255, 40 * seed % 256, 0)
    return video


def run_cli(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["evaluate"])  # only this command; others are not under test
    code = cli.main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folders(tmp_path):
    generated, truth = tmp_path / "generated", tmp_path / "truth"
    generated.mkdir(), truth.mkdir()
    for seed, name in enumerate(["a", "b"]):
        clean = moving_square(8, 32, 32, seed)
        noisy = np.clip(clean.astype(int) + np.random.default_rng(seed).integers(-20, 21, clean.shape), 0, 255)
        write_video(truth / f"{name}.mp4", clean, fps=8)
        write_video(generated / f"{name}.mp4", noisy.astype(np.uint8), fps=8)
    return generated, truth


def test_markdown_table_has_per_video_rows_and_frame_weighted_mean(folders, monkeypatch, capsys):
    generated, truth = folders
    code, out, err = run_cli(monkeypatch, capsys, "--generated", str(generated), "--ground-truth", str(truth))
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "| video | frames | l1 | psnr | psnr_star | ssim | notes |"
    assert lines[2].startswith("| a | 8 |") and lines[3].startswith("| b | 8 |") and lines[4].startswith("| **mean** | 16 |")

    # the values are the metric functions over the decoded frames
    gen, ref = (torch.from_numpy(read_video_frames(d / "a.mp4")).permute(0, 3, 1, 2) / 255 for d in folders)
    row_a = dict(zip(lines[0].split(" | ")[2:6], lines[2].split(" | ")[2:6]))
    assert float(row_a["psnr"]) == pytest.approx(metrics.psnr(gen, ref).mean().item(), abs=0.01)
    assert float(row_a["ssim"]) == pytest.approx(metrics.ssim(gen, ref).mean().item(), abs=1e-4)


def test_json_output_and_mismatch_rules_are_reported(tmp_path, monkeypatch, capsys):
    generated, truth = tmp_path / "generated", tmp_path / "truth"
    generated.mkdir(), truth.mkdir()
    write_video(truth / "clip.mp4", moving_square(8, 32, 40, 0), fps=8)
    write_video(generated / "clip.mp4", moving_square(10, 48, 48, 0), fps=8)
    code, out, err = run_cli(monkeypatch, capsys, "--generated", str(generated), "--ground-truth", str(truth),
                             "--metrics", "l1,ssim", "psnr", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["metrics"] == ["l1", "ssim", "psnr"]
    (video,) = report["videos"]
    assert video["frames"] == 8
    assert video["notes"] == ["frames 10 generated vs 8 ground truth: first 8 compared", "generated 48x48 resized to 40x32"]
    assert report["mean"]["ssim"] == pytest.approx(video["values"]["ssim"])


def test_identical_folders_with_every_metric(folders, random_weights_dir, tmp_path, monkeypatch, capsys):
    _, truth = folders
    code, out, err = run_cli(monkeypatch, capsys, "--generated", str(truth), "--ground-truth", str(truth),
                             "--weights-dir", str(random_weights_dir), "--cache-dir", str(tmp_path / "cache"), "--json")
    assert code == 0, err
    mean = json.loads(out)["mean"]
    assert list(mean) == list(evaluate.ALL_METRICS)
    assert mean["psnr"] == "inf" and mean["psnr_star"] == 100.0 and mean["ssim"] == pytest.approx(1.0)
    assert mean["l1"] == 0.0 and mean["lpips_vgg"] == 0.0 and mean["lpips_alex"] == 0.0
    for name in ("fid", "fid_vid", "fvd"):
        assert abs(mean[name]) < 1e-6, name
    # one cache file per video file and network (both sides name the same files here)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2 * 3


def test_cached_features_are_reused(folders, random_weights_dir, tmp_path, monkeypatch):
    generated, truth = folders
    calls = []
    original = evaluate.FeatureCache.features

    def counting(self, video, network, frames):
        calls.append(network.name)
        return original(self, video, network, frames)

    computed = []
    monkeypatch.setattr(evaluate.FeatureCache, "features", counting)
    original_build = evaluate._build_networks

    def build(*args):
        lpips, networks = original_build(*args)
        for network in networks.values():
            network.compute = (lambda f, inner=network.compute: computed.append(1) or inner(f))
        return lpips, networks

    monkeypatch.setattr(evaluate, "_build_networks", build)
    kwargs = dict(metric_names=["fvd"], weights_dir=random_weights_dir, cache_dir=tmp_path / "cache")
    first = evaluate.evaluate_folders(generated, truth, **kwargs)
    assert len(computed) == 4
    second = evaluate.evaluate_folders(generated, truth, **kwargs)
    assert len(computed) == 4 and len(calls) == 8  # second run: all four read from the cache
    assert second.summary["fvd"] == first.summary["fvd"] > 0


@pytest.mark.parametrize(
    "setup, message",
    [
        ("empty", "no videos"),
        ("unmatched", "without a match by name (only generated: extra; only ground truth: other)"),
        ("unreadable", "cannot"),
        ("unknown_metric", "unknown metric(s) ssim2"),
        ("missing_weights", "pt_inception-2015-12-05-6726825d.pth"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(setup, message, folders, tmp_path, monkeypatch, capsys):
    generated, truth = folders
    extra = []
    if setup == "empty":
        shutil.rmtree(generated)
        generated.mkdir()
    elif setup == "unmatched":
        shutil.copy(generated / "a.mp4", generated / "extra.mp4")
        shutil.copy(truth / "a.mp4", truth / "other.mp4")
    elif setup == "unreadable":
        (generated / "a.mp4").write_bytes(b"not a video at all" * 10)
    elif setup == "unknown_metric":
        extra = ["--metrics", "ssim2"]
    elif setup == "missing_weights":
        extra = ["--metrics", "fid", "--weights-dir", str(tmp_path)]
    code, out, err = run_cli(monkeypatch, capsys, "--generated", str(generated), "--ground-truth", str(truth), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("animate-anyone: error: ") and message in err
