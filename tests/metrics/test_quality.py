"""FID and KID through torchmetrics agree with closed forms on a tiny custom extractor.

The extractor reads an image's index from its pixels and returns a row of a feature table, so the features are
exactly what the test chose: two point sets whose sample means and covariances are exactly (m1, diag s1^2) and
(m2, diag s2^2). FID of two Gaussians with commuting covariances is ||m1 - m2||^2 + sum (s1 - s2)^2 (Eq. 18 of the
paper, with the squared norm of the original definition); KID with one subset holding every sample is the
unbiased MMD^2 of the cubic kernel k(x, y) = (x.y / d + 1)^3 (Eq. 19), written out here with numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import Tensor

from dfkd.metrics import FeatureExtractor, ImageQuality, extract_features, tanh_to_uint8, unit_to_uint8


class TableLookup(FeatureExtractor):
    """Image i carries i in its first two pixels (base 256); its features are row i of ``table``."""

    def __init__(self, table: Tensor) -> None:
        super().__init__()
        self.register_buffer("table", table)
        self.num_features = table.shape[1]
        self.cache_id = "table"

    def extract(self, images: Tensor) -> Tensor:
        index = images[:, 0, 0, 0].long() * 256 + images[:, 0, 0, 1].long()
        return self.table[index]


def encode(indices: range, size: int = 4) -> Tensor:
    images = torch.zeros(len(indices), 1, size, size, dtype=torch.uint8)  # grey: repeated to RGB inside
    for row, i in enumerate(indices):
        images[row, 0, 0, 0], images[row, 0, 0, 1] = i // 256, i % 256
    return images


def exact_moments(n: int, mean: np.ndarray, std: np.ndarray, seed: int) -> np.ndarray:
    """n points whose sample mean is ``mean`` and whose unbiased sample covariance is diag(std^2) exactly."""
    x = np.random.default_rng(seed).standard_normal((n, mean.size))
    x -= x.mean(axis=0)
    cov = x.T @ x / (n - 1)
    whitened = x @ np.linalg.inv(np.linalg.cholesky(cov)).T
    return whitened * std + mean


def unbiased_mmd2_cubic(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())  # fmt: skip


@pytest.fixture()
def two_gaussians() -> tuple[np.ndarray, np.ndarray, float]:
    m1, s1 = np.array([0.0, 1.0, -2.0, 0.5]), np.array([1.0, 2.0, 0.5, 1.5])
    m2, s2 = np.array([1.0, 1.0, 0.0, 0.5]), np.array([2.0, 1.0, 0.5, 3.0])
    real, fake = exact_moments(300, m1, s1, seed=1), exact_moments(200, m2, s2, seed=2)
    closed_form = float(((m1 - m2) ** 2).sum() + ((s1 - s2) ** 2).sum())  # = 5 + 4.25
    return real, fake, closed_form


def test_fid_and_kid_match_closed_forms(two_gaussians: tuple[np.ndarray, np.ndarray, float]) -> None:
    real, fake, closed_form = two_gaussians
    table = torch.from_numpy(np.concatenate([real, fake]))
    extractor = TableLookup(table).frozen()
    real_features = extract_features(extractor, [encode(range(0, 150)), encode(range(150, 300))])
    fake_features = extract_features(extractor, [encode(range(300, 500))])
    assert torch.equal(real_features, table[:300].float())  # extract_features returns float32 on the CPU
    quality = ImageQuality(table[:300], kid_subsets=1, kid_subset_size=200)
    scores = quality.score(table[300:])
    assert closed_form == pytest.approx(9.25)
    assert scores["fid"] == pytest.approx(closed_form, rel=1e-9)
    # KID with one subset of every sample: the permutation cannot matter
    quality = ImageQuality(table[:200], kid_subsets=1, kid_subset_size=200)
    assert quality.score(table[300:])["kid"] == pytest.approx(unbiased_mmd2_cubic(real[:200], fake), rel=1e-9)
    assert quality.score(table[300:])["kid_std"] == 0.0
    # and from the float32 features the extractor produced, to float32 accuracy
    assert ImageQuality(real_features).score(fake_features)["fid"] == pytest.approx(closed_form, rel=1e-5)


def test_fid_matches_scipy_on_general_covariances() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 6)) @ rng.standard_normal((6, 6))
    b = rng.standard_normal((300, 6)) @ rng.standard_normal((6, 6)) + 0.3
    mu_a, mu_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * scipy.linalg.sqrtm(cov_a @ cov_b).real)
    fid = ImageQuality(torch.from_numpy(a)).score(torch.from_numpy(b))["fid"]
    assert fid == pytest.approx(float(expected), rel=1e-7)


def test_identical_sets_score_zero_fid() -> None:
    x = torch.randn(100, 5, dtype=torch.float64)
    assert ImageQuality(x).score(x.clone())["fid"] == pytest.approx(0.0, abs=1e-8)


def test_image_quantisation() -> None:
    assert tanh_to_uint8(torch.tensor([-1.5, -1.0, 0.0, 1.0])).tolist() == [0, 0, 128, 255]
    assert unit_to_uint8(torch.tensor([0.0, 0.5, 1.0, 2.0])).tolist() == [0, 128, 255, 255]


def test_bad_shapes_are_refused() -> None:
    quality = ImageQuality(torch.randn(10, 3))
    with pytest.raises(ValueError, match="expected features"):
        quality.score(torch.randn(10, 4))
    with pytest.raises(ValueError, match="uint8"):
        TableLookup(torch.zeros(1, 2))(torch.zeros(1, 3, 4, 4))
