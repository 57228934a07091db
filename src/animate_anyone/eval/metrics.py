"""Plain distance functions over tensors: no I/O, no networks, no weights.

Image metrics take frames as float tensors (N, C, H, W) in [0, 1] (or uint8 (N, H, W, 3) where
stated) and return one value per frame, shape (N,). Set metrics take feature matrices (N, D).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _region_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean per frame of (N, C, H, W) `values` over all pixels, or over the pixels where the (N, H, W)
    bool `mask` is true (every channel) → (N,); NaN for a frame whose mask is empty."""
    if mask is None:
        return values.flatten(1).mean(1)
    if mask.shape != (values.shape[0], *values.shape[2:]):
        raise ValueError(f"mask must be (N, H, W) = {(values.shape[0], *values.shape[2:])}, got {tuple(mask.shape)}")
    weights = mask[:, None].to(values.dtype).expand_as(values).flatten(1)
    return (values.flatten(1) * weights).sum(1) / weights.sum(1)


def l1(generated: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error per frame of (N, C, H, W) images in [0, 1] → (N,); with an (N, H, W) bool
    `mask`, over its pixels only."""
    return _region_mean((generated.double() - target.double()).abs(), mask)


def psnr(generated: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
         mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per frame of (N, C, H, W) images → (N,); inf where equal; with
    an (N, H, W) bool `mask`, of the mean squared error over its pixels only."""
    mse = _region_mean((generated.double() - target.double()).pow(2), mask)
    return 10.0 * torch.log10(data_range**2 / mse)


def psnr_star(generated: np.ndarray, target: np.ndarray) -> np.ndarray:
    """PSNR* of the DisCo / Animate Anyone TikTok tables, per frame of (N, H, W, 3) uint8 → (N,).

    DisCo's released evaluation (tool/metrics/ssim_l1_lpips_psnr.py, `psnr_eval`) subtracts and
    squares the uint8 frames in uint8 arithmetic, so both results wrap modulo 256, then takes
    20·log10(255 / sqrt(mean)) with 100 dB for a zero mean. The TikTok tables report this value;
    it is not the textbook PSNR (use `psnr` for that).
    """
    if generated.dtype != np.uint8 or target.dtype != np.uint8:
        raise ValueError("psnr_star is defined on uint8 frames")
    wrapped = (generated - target) ** 2  # uint8 arithmetic: wraps modulo 256, as in DisCo
    mse = wrapped.reshape(len(wrapped), -1).mean(axis=1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        values = 20.0 * np.log10(255.0 / np.sqrt(mse))
    return np.where(mse == 0, 100.0, values)


def _gaussian_window(sigma: float, truncate: float = 3.5) -> torch.Tensor:
    """1-D normalised Gaussian of radius int(truncate·sigma + 0.5) (scipy/scikit-image's rule)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    window = torch.exp(-0.5 * (x / sigma) ** 2)
    return window / window.sum()


def _filter_valid(images: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter without padding: (B, 1, H, W) → (B, 1, H - k + 1, W - k + 1)."""
    k = len(window)
    images = F.conv2d(images, window.view(1, 1, k, 1))
    return F.conv2d(images, window.view(1, 1, 1, k))


def ssim(
    generated: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, sigma: float = 1.5,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gaussian-window SSIM (Wang et al., 2004) per frame of (N, C, H, W) images → (N,).

    Same numbers as scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=..., channel_axis=...)`: K1 = 0.01, K2 = 0.03, the
    SSIM map averaged over channels and over the pixels whose window lies inside the image. With an
    (N, H, W) bool `mask`, the map is averaged over those of its pixels only (windows centred there).
    """
    n, c, h, w = generated.shape
    window = _gaussian_window(sigma).to(generated.device)
    if min(h, w) < len(window):
        raise ValueError(f"SSIM needs images of at least {len(window)}x{len(window)}, got {h}x{w}")
    x = generated.double().reshape(n * c, 1, h, w)
    y = target.double().reshape(n * c, 1, h, w)
    mu_x, mu_y = _filter_valid(x, window), _filter_valid(y, window)
    var_x = _filter_valid(x * x, window) - mu_x**2
    var_y = _filter_valid(y * y, window) - mu_y**2
    cov_xy = _filter_valid(x * y, window) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    ssim_map = ssim_map.reshape(n, c, *ssim_map.shape[-2:])
    if mask is not None:
        if mask.shape != (n, h, w):
            raise ValueError(f"mask must be (N, H, W) = {(n, h, w)}, got {tuple(mask.shape)}")
        radius = len(window) // 2
        mask = mask[:, radius:h - radius, radius:w - radius]
    return _region_mean(ssim_map, mask)


def lpips_distance(
    features_a: list[torch.Tensor], features_b: list[torch.Tensor], linear_weights: list[torch.Tensor]
) -> torch.Tensor:
    """LPIPS (Zhang et al., 2018) from backbone activations → (N,).

    features_*: per tapped layer, (N, C_l, H_l, W_l) activations; linear_weights: per layer, the
    (C_l,) non-negative channel weights. Each activation is unit-normalised over channels
    (eps 1e-10), the squared difference is weighted over channels, averaged over space and summed
    over layers.
    """
    total = 0.0
    for a, b, weight in zip(features_a, features_b, linear_weights, strict=True):
        a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        weighted = ((a - b) ** 2 * weight.view(1, -1, 1, 1)).sum(1)  # (N, H_l, W_l)
        total = total + weighted.mean((1, 2))
    return total


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D), in float64, of a feature matrix (N, D), N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need a feature matrix (N >= 2, D), got shape {features.shape}")
    return features.mean(0), np.cov(features, rowvar=False)


def _psd_eigenvalues_floor(eigenvalues: np.ndarray) -> np.ndarray:
    """Eigenvalues of a PSD matrix with round-off below D·eps·max set to 0 (rank-deficient covariances)."""
    tolerance = len(eigenvalues) * np.finfo(np.float64).eps * max(float(eigenvalues.max(initial=0.0)), 0.0)
    return np.where(eigenvalues > tolerance, eigenvalues, 0.0)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(_psd_eigenvalues_floor(eigenvalues))) @ eigenvectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ||mu1 - mu2||² + Tr(S1) + Tr(S2) - 2·Tr((S1 S2)^½), with Tr((S1 S2)^½) computed as the sum of
    square roots of the eigenvalues of the symmetric PSD matrix S1^½ S2 S1^½ (same spectrum), which
    stays exact for the rank-deficient covariances of small sets.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    root1 = _psd_sqrt(sigma1)
    product = root1 @ sigma2 @ root1
    trace_sqrt = float(np.sqrt(_psd_eigenvalues_floor(np.linalg.eigvalsh((product + product.T) / 2))).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)


def frechet_distance_of_features(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (N_a, D) and (N_b, D).

    With fewer samples than dimensions the covariances are Σa = AᵀA and Σb = BᵀB for the centred,
    1/sqrt(N-1)-scaled features A, B; then Tr((Σa Σb)^½) is the nuclear norm of A Bᵀ (N_a, N_b),
    which is exact and avoids decomposing D x D matrices.
    """
    mu_a, sigma_a = gaussian_statistics(features_a)
    mu_b, sigma_b = gaussian_statistics(features_b)
    if min(len(features_a), len(features_b)) > len(mu_a):
        return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
    a = (np.asarray(features_a, np.float64) - mu_a) / np.sqrt(len(features_a) - 1)
    b = (np.asarray(features_b, np.float64) - mu_b) / np.sqrt(len(features_b) - 1)
    trace_sqrt = float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    diff = mu_a - mu_b
    return float(diff @ diff + (a * a).sum() + (b * b).sum() - 2.0 * trace_sqrt)
