"""The distance functions against scikit-image, hand-computed values and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import data
from skimage.metrics import structural_similarity

from animate_anyone.eval import metrics


def as_batch(image: np.ndarray) -> torch.Tensor:
    """(H, W, C) → (1, C, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]


def skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=data_range, channel_axis=2)


@pytest.mark.parametrize("shape", [(11, 11, 3), (40, 57, 3), (64, 48, 1)])
@pytest.mark.parametrize("seed", [0, 1])
def test_ssim_matches_skimage_on_random_images(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    b = np.clip(a + rng.normal(0, 0.3 * rng.random(), shape), 0, 1)
    assert metrics.ssim(as_batch(a), as_batch(b)).item() == pytest.approx(skimage_ssim(a, b, 1.0), abs=1e-4)


def test_ssim_matches_skimage_on_natural_images():
    rng = np.random.default_rng(2)
    astronaut = data.astronaut().astype(np.float64)  # (512, 512, 3) in [0, 255]
    blurred = np.clip(astronaut + rng.normal(0, 12, astronaut.shape), 0, 255)
    ours = metrics.ssim(as_batch(astronaut), as_batch(blurred), data_range=255.0).item()
    assert ours == pytest.approx(skimage_ssim(astronaut, blurred, 255.0), abs=1e-4)
    camera = data.camera()[::2, ::2, None] / 255.0
    shifted = np.roll(camera, 3, axis=1)
    assert metrics.ssim(as_batch(camera), as_batch(shifted)).item() == pytest.approx(
        skimage_ssim(camera, shifted, 1.0), abs=1e-4)


def test_ssim_batch_is_per_frame_and_identical_is_one():
    x = torch.rand(3, 3, 20, 20, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[1] = 1 - y[1]
    values = metrics.ssim(x, y)
    assert values.shape == (3,)
    assert values[0].item() == pytest.approx(1.0) and values[2].item() == pytest.approx(1.0)
    assert values[1].item() < 0.5


def test_psnr_and_l1_against_hand_values():
    target = torch.zeros(2, 3, 4, 4)
    generated = torch.full((2, 3, 4, 4), 0.1)
    generated[1] = 0.5
    assert metrics.psnr(generated, target).tolist() == pytest.approx([20.0, 10 * math.log10(1 / 0.25)])
    assert metrics.l1(generated, target).tolist() == pytest.approx([0.1, 0.5])
    assert metrics.psnr(generated * 255, target, data_range=255.0)[0].item() == pytest.approx(20.0)
    assert math.isinf(metrics.psnr(target, target)[0].item())


def test_psnr_star_reproduces_disco_uint8_wraparound():
    generated = np.full((2, 4, 4, 3), 10, np.uint8)
    target = np.full((2, 4, 4, 3), 30, np.uint8)
    target[1] = 10
    # (10 - 30) mod 256 = 236; 236² mod 256 = 144 → 20·log10(255/12); identical frames → 100.
    assert metrics.psnr_star(generated, target).tolist() == pytest.approx([20 * math.log10(255 / 12), 100.0])
    # the textbook value for the same frames differs: 20·log10(255/20)
    assert metrics.psnr(torch.tensor(10.0).expand(1, 1, 1, 1), torch.tensor(30.0).expand(1, 1, 1, 1), 255.0).item() \
        == pytest.approx(20 * math.log10(255 / 20))
    with pytest.raises(ValueError):
        metrics.psnr_star(generated.astype(np.float32), target)


def test_lpips_distance_hand_value():
    a = [torch.tensor([3.0, 0.0]).view(1, 2, 1, 1).repeat(1, 1, 2, 2)]
    b = [torch.tensor([0.0, 5.0]).view(1, 2, 1, 1).repeat(1, 1, 2, 2)]
    # unit-normalised (1, 0) vs (0, 1): squared differences (1, 1), weighted by (1, 2) → 3 everywhere
    assert metrics.lpips_distance(a, b, [torch.tensor([1.0, 2.0])]).item() == pytest.approx(3.0, rel=1e-6)


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_of_identical_images_is_zero_and_symmetric(net):
    from animate_anyone.eval.lpips import LPIPS

    torch.manual_seed(0)
    model = LPIPS(net)
    for k in range(5):
        getattr(model, f"lin{k}").model[1].weight.data.uniform_(0, 0.1)
    x, y = torch.rand(2, 3, 64, 48), torch.rand(2, 3, 64, 48)
    assert model(x, x).abs().max().item() == 0.0
    assert torch.allclose(model(x, y), model(y, x), rtol=1e-6, atol=0)
    assert (model(x, y) > 0).all()


def test_frechet_distance_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    a, b = rng.uniform(0.1, 4, 6), rng.uniform(0.1, 4, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    value = metrics.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert value == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_one_dimensional_and_general_case():
    assert metrics.frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[9.0]])) \
        == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)
    # non-commuting 2x2: Tr((S1 S2)^½) = sqrt(Tr(S1 S2) + 2·sqrt(det(S1 S2))) for 2x2 PSD products
    s1, s2 = np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([[1.0, -0.3], [-0.3, 3.0]])
    product = s1 @ s2
    trace_sqrt = math.sqrt(np.trace(product) + 2 * math.sqrt(np.linalg.det(product)))
    expected = 1.0 + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert metrics.frechet_distance(np.zeros(2), s1, np.array([1.0, 0.0]), s2) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n", [3, 500])  # rank-deficient (N < D) and full-rank covariances
def test_frechet_distance_of_a_set_with_itself_is_zero(n):
    features = np.random.default_rng(n).normal(size=(n, 64)) * 10
    assert metrics.frechet_distance_of_features(features, features) == pytest.approx(0.0, abs=1e-6)
    shifted = features + 1.0  # same covariance, mean moved by 1 in each of 64 dimensions
    assert metrics.frechet_distance_of_features(features, shifted) == pytest.approx(64.0, rel=1e-6)


def test_low_rank_path_matches_the_covariance_formula():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 50)), rng.normal(1.0, 2.0, size=(30, 50)) @ rng.normal(size=(50, 50)) / 7
    via_covariances = metrics.frechet_distance(*metrics.gaussian_statistics(a), *metrics.gaussian_statistics(b))
    assert metrics.frechet_distance_of_features(a, b) == pytest.approx(via_covariances, rel=1e-9)


def test_masked_metrics_average_over_the_mask_only():
    """Over a region, L1/PSNR are those of its pixels and SSIM is scikit-image's SSIM map averaged
    over the region's pixels whose window lies inside the image; an all-true mask changes nothing."""
    rng = np.random.default_rng(3)
    a = rng.random((40, 48, 3))
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)
    b[:, :20] = a[:, :20]  # the left part is exact
    mask = np.zeros((40, 48), dtype=bool)
    mask[5:35, 10:40] = True
    x, y, m = as_batch(a), as_batch(b), torch.from_numpy(mask)[None]
    difference = np.abs(a - b)[mask]
    assert metrics.l1(x, y, m).item() == pytest.approx(difference.mean())
    assert metrics.psnr(x, y, mask=m).item() == pytest.approx(10 * math.log10(1 / (difference**2).mean()))
    _, ssim_map = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                        data_range=1.0, channel_axis=2, full=True)
    radius = 5  # int(3.5 * 1.5 + 0.5)
    valid = np.zeros_like(mask)
    valid[radius:-radius, radius:-radius] = True
    assert metrics.ssim(x, y, mask=m).item() == pytest.approx(ssim_map[mask & valid].mean(), abs=1e-4)
    everything = torch.ones_like(m)
    for metric in (metrics.l1, metrics.psnr, metrics.ssim):
        assert metric(x, y, mask=everything).item() == pytest.approx(metric(x, y).item())
    assert math.isnan(metrics.l1(x, y, torch.zeros_like(m)).item())
    with pytest.raises(ValueError, match="mask must be"):
        metrics.l1(x, y, m[:, :-1])
