"""The built-in dataset: procedurally drawn cat faces, varied and reproducible."""
import numpy as np
import pytest

from minigan.data import procedural_cats
from minigan.data.cats import PATTERNS


@pytest.fixture(scope="module")
def cats():
    return procedural_cats(24, image_size=64, seed=0)


def test_shape_and_dtype(cats):
    assert cats.shape == (24, 64, 64, 3) and cats.dtype == np.uint8
    assert procedural_cats(2, image_size=32).shape == (2, 32, 32, 3)
    assert procedural_cats(0).shape == (0, 64, 64, 3)


def test_deterministic_and_independent_of_n(cats):
    np.testing.assert_array_equal(procedural_cats(24, seed=0), cats)
    np.testing.assert_array_equal(procedural_cats(3, seed=0), cats[:3])  # image i depends on i only
    assert not np.array_equal(procedural_cats(3, seed=1), cats[:3])


def test_every_image_is_different(cats):
    flat = cats.reshape(len(cats), -1).astype(np.int16)
    differences = np.abs(flat[:, None] - flat[None]).mean(axis=2)
    assert differences[~np.eye(len(cats), dtype=bool)].min() > 5


def test_colours_vary_between_images(cats):
    means = cats.reshape(len(cats), -1, 3).mean(axis=1)    # mean colour of each image
    assert means.std(axis=0).min() > 10


def test_images_have_detail(cats):
    # Not blank, and not flat colour blobs: faces have edges (eyes, ears, nose).
    assert cats.reshape(len(cats), -1).std(axis=1).min() > 15
    edges = np.abs(np.diff(cats.astype(np.int16), axis=2)).mean(axis=(1, 2, 3))
    assert edges.min() > 3


def test_face_is_centred(cats):
    # The centre of the frame (the face) differs from the corners (background) on average.
    centre = cats[:, 24:40, 24:40].astype(float).mean(axis=(1, 2))
    corners = cats[:, :6, :6].astype(float).mean(axis=(1, 2))
    assert np.abs(centre - corners).sum(axis=1).mean() > 60


def test_patterns_are_a_distribution():
    assert sum(PATTERNS.values()) == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        procedural_cats(2, image_size=4)
