"""Mini-batches: shapes, scaling to [-1, 1], shuffling, flips, and resuming mid-epoch."""
import numpy as np
import pytest

import minigan
from minigan.data import ImageBatches


def numbered_images(n=10, size=4):
    """Image i is filled with value 20 * i, and its left column is 255 (to see flips)."""
    images = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 20, size * size * 3)
    images = images.reshape(n, size, size, 3).copy()
    images[:, :, 0, :] = 255
    return images


def ids(batch):
    """Which numbered images a batch holds (from the value of its last column)."""
    return [int(round((v + 1) * 127.5 / 20)) for v in batch.numpy()[:, 0, 0, -1]]


def epoch(batches):
    return [b.numpy() for b in batches]


def test_shapes_range_and_device(device):
    batches = ImageBatches(numbered_images(10), batch_size=4, device=device)
    assert len(batches) == 2                        # drop_last: 10 // 4
    out = list(batches)
    assert len(out) == 2
    for b in out:
        assert isinstance(b, minigan.Tensor) and b.device == device
        assert b.shape == (4, 3, 4, 4) and b.dtype == np.float32 and not b.requires_grad
        assert b.numpy().min() >= -1 and b.numpy().max() <= 1


def test_exact_scaling_and_float64():
    images = np.array([0, 255, 51], dtype=np.uint8).reshape(3, 1, 1, 1)
    (b,) = ImageBatches(images, 3, shuffle=False, dtype="float64")
    assert b.dtype == np.float64
    np.testing.assert_allclose(b.numpy().ravel(), [-1.0, 1.0, 51 / 127.5 - 1])


def test_keep_last_partial_batch():
    batches = ImageBatches(numbered_images(10), batch_size=4, shuffle=False, drop_last=False)
    assert len(batches) == 3
    assert [ids(b) for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_shuffle_covers_everything_once_and_changes_every_epoch():
    batches = ImageBatches(numbered_images(12), batch_size=3, seed=5)
    first = [i for b in batches for i in ids(b)]
    second = [i for b in batches for i in ids(b)]
    assert sorted(first) == sorted(second) == list(range(12))
    assert first != second and first != list(range(12))
    assert batches.epoch == 2


def test_same_seed_same_batches_other_seed_differs():
    a = epoch(ImageBatches(numbered_images(), 5, seed=1, flip=True))
    b = epoch(ImageBatches(numbered_images(), 5, seed=1, flip=True))
    c = epoch(ImageBatches(numbered_images(), 5, seed=2, flip=True))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))


def test_flip_mirrors_about_half_the_images(device):
    images = numbered_images(200)
    batches = ImageBatches(images, 200, shuffle=False, flip=True, device=device)
    (b,) = batches
    b = b.numpy()
    flipped = b[:, 0, 0, -1] == 1.0                 # the 255 column moved to the right
    assert 60 < flipped.sum() < 140
    unflipped = next(iter(ImageBatches(images, 200, shuffle=False))).numpy()
    np.testing.assert_array_equal(b[flipped], unflipped[flipped][..., ::-1])
    np.testing.assert_array_equal(b[~flipped], unflipped[~flipped])


def test_resume_mid_epoch_is_identical(device):
    images = numbered_images(20)
    reference = ImageBatches(images, 3, seed=7, flip=True, device=device)
    expected = epoch(reference) + epoch(reference)  # two full epochs

    interrupted = ImageBatches(images, 3, seed=7, flip=True, device=device)
    seen = []
    for b in interrupted:
        seen.append(b.numpy())
        if len(seen) == 4:
            break                                   # "crash" after 4 of 6 batches
    state = interrupted.state_dict()
    assert state == {"seed": 7, "epoch": 0, "position": 4}

    resumed = ImageBatches(images, 3, seed=0, flip=True, device=device)
    resumed.load_state_dict(state)
    seen += epoch(resumed) + epoch(resumed)
    assert len(seen) == len(expected)
    for x, y in zip(seen, expected):
        np.testing.assert_array_equal(x, y)
    assert resumed.state_dict() == {"seed": 7, "epoch": 2, "position": 0}


def test_preload_on_device_gives_the_same_batches(device):
    images = numbered_images(20)
    host = epoch(ImageBatches(images, 4, seed=3, flip=True, device=device))
    preloaded = ImageBatches(images, 4, seed=3, flip=True, device=device, preload=True)
    assert minigan.backend.device_of(preloaded.images) == device
    for x, y in zip(host, epoch(preloaded)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("preload", [False, True])
def test_labels_travel_with_their_images(device, preload):
    labels = np.arange(10) * 3 % 7  # image i has label 3i mod 7
    batches = ImageBatches(numbered_images(10), 3, seed=1, flip=True, device=device,
                           preload=preload, labels=labels)
    seen = 0
    for x, y in batches:
        assert y.device == device and y.dtype == np.int64 and not y.requires_grad
        which = np.round((x.numpy()[:, 0, 0, 1] + 1) * 127.5 / 20).astype(int)  # not the edge
        assert list(y.numpy()) == [3 * i % 7 for i in which]
        seen += len(which)
    assert seen == 9
    (x, y), = ImageBatches(numbered_images(4), 4, labels=np.ones((4, 2), np.int32))
    assert y.shape == (4, 2)
    with pytest.raises(ValueError, match="labels"):
        ImageBatches(numbered_images(4), 2, labels=np.zeros(3, int))
    with pytest.raises(ValueError, match="labels"):
        ImageBatches(numbered_images(4), 2, labels=np.zeros(4))


def test_grey_images_have_one_channel():
    (b,) = ImageBatches(np.zeros((2, 5, 5, 1), np.uint8), 2)
    assert b.shape == (2, 1, 5, 5)


@pytest.mark.parametrize("images, batch_size, match", [
    (np.zeros((4, 8, 8, 3), np.float32), 2, "uint8"),
    (np.zeros((4, 3, 8, 8), np.uint8), 2, "N x H x W x C"),
    (np.zeros((4, 8, 8, 3), np.uint8), 0, "batch_size"),
    (np.zeros((4, 8, 8, 3), np.uint8), 5, "no full batch"),
])
def test_bad_arguments(images, batch_size, match):
    with pytest.raises(ValueError, match=match):
        ImageBatches(images, batch_size)


def test_bad_state():
    with pytest.raises(ValueError, match="position"):
        ImageBatches(numbered_images(10), 5).load_state_dict({"seed": 0, "epoch": 0, "position": 9})
