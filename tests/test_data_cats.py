"""The built-in dataset: procedurally drawn cat faces, varied and reproducible."""
import hashlib

import numpy as np
import pytest

from minigan.data import procedural_cats
from minigan.data.cats import CAT_ATTRIBUTES, PATTERNS


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


# ------------------------------------------------------------------------------ labels
# sha256 of procedural_cats(6, 64, seed=0).tobytes() as drawn before attributes were recorded
# (Pillow 13): recording the choices must not change a single pixel.
IMAGES_BEFORE_LABELS = "cd577491652bb5e29523c45e281781653e818af6d834b2e6023bf44788d4d907"


@pytest.fixture(scope="module")
def labelled():
    return procedural_cats(600, image_size=16, seed=0, attributes=True)


def test_recording_attributes_leaves_the_images_unchanged(cats):
    images, labels = procedural_cats(6, image_size=64, seed=0, attributes=True)
    assert hashlib.sha256(images.tobytes()).hexdigest() == IMAGES_BEFORE_LABELS
    np.testing.assert_array_equal(images, cats[:6])
    assert set(labels) == set(CAT_ATTRIBUTES)


def test_labels_are_class_indices_independent_of_n(labelled):
    images, labels = labelled
    few = procedural_cats(5, image_size=16, seed=0, attributes=True)[1]
    for name, classes in CAT_ATTRIBUTES.items():
        assert labels[name].shape == (600,) and labels[name].dtype == np.int64
        assert labels[name].min() >= 0 and labels[name].max() < len(classes)
        np.testing.assert_array_equal(few[name], labels[name][:5])


def test_every_class_is_common_enough_to_learn(labelled):
    _, labels = labelled
    for name, classes in CAT_ATTRIBUTES.items():
        share = np.bincount(labels[name], minlength=len(classes)) / 600
        assert share.min() > 0.5 / len(classes), (name, share)
    patterns = np.bincount(labels["pattern"], minlength=5) / 600
    assert np.abs(patterns - np.array(list(PATTERNS.values()))).max() < 0.06


def test_labels_describe_the_pictures(labelled):
    # The fur label names the face's colour: white coats are brighter than black ones in the
    # middle of the forehead, and orange coats redder than grey ones.
    images, labels = labelled
    forehead = images[:, 5:7, 7:9].astype(float).mean(axis=(1, 2))     # (N, 3) RGB
    fur = {name: forehead[labels["fur"] == CAT_ATTRIBUTES["fur"].index(name)]
           for name in ("white", "black", "orange", "grey")}
    assert fur["white"].mean() > fur["black"].mean() + 80
    redness = {k: (v[:, 0] - v[:, 2]).mean() for k, v in fur.items()}
    assert redness["orange"] > redness["grey"] + 40


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        procedural_cats(2, image_size=4)
