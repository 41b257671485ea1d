"""Host syncs: on a GPU every number read back to the host (``float(loss)``, ``bool(...)``,
``.item()``, ``to_numpy``) waits for the device, and every upload of host data costs a copy.
`minigan.testing.count_syncs` counts both on the strict device; a DCGAN training step is held
to its budget here (docs/07_backend.md, "Syncs and randomness in the training step")."""
import pathlib
import sys

import numpy as np
import pytest

import minigan
from minigan import backend, nn
from minigan.testing import count_syncs

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from examples import cats_dcgan  # noqa: E402


def test_every_implicit_transfer_is_counted():
    x = backend.to_device(np.arange(4.0), "strict")
    total = x.sum()
    reads = [lambda: float(total), lambda: bool(total > 0), lambda: int(total), total.item,
             x.tolist, lambda: backend.to_numpy(x), lambda: x.get(), lambda: repr(x)]
    for read in reads:
        with count_syncs() as syncs:
            read()
        assert (syncs.device_to_host, syncs.host_to_device) == (1, 0), syncs
    uploads = [lambda: backend.to_device(np.ones(2), "strict"), lambda: x[np.array([0, 2])],
               lambda: backend.xp_for("strict").asarray([1.0, 2.0])]
    for upload in uploads:
        with count_syncs() as syncs:
            upload()
        assert (syncs.device_to_host, syncs.host_to_device) == (0, 1), syncs
    with count_syncs() as syncs:  # work that stays on the device is free
        y = (x * 2 + 1).sum() / x[1:3].max()
        backend.xp_for("strict").asarray(y)
    assert syncs.events == []


def test_the_report_says_where_each_sync_happened():
    x = backend.to_device(np.ones(3), "strict")
    with count_syncs() as syncs:
        float(x.sum())
    assert "float() at " in repr(syncs) and "test_syncs.py" in repr(syncs)


def test_random_draws_and_dropout_stay_on_the_device():
    x = minigan.ones(4, 8, device="strict")
    with count_syncs() as syncs:
        minigan.randn(4, 8, device="strict")
        minigan.rand(3, device="strict")
        nn.functional.dropout(x, 0.5)
        nn.functional.dropout2d(x.reshape(4, 2, 2, 2), 0.5)
    assert syncs.events == []


def test_shape_decisions_are_made_on_the_host():
    x = minigan.ones(1, 2, 3, 3, device="strict")
    with count_syncs() as syncs:
        nn.functional.interpolate(x, scale_factor=2, mode="nearest")   # block copy or gather:
        nn.functional.interpolate(x, size=(5, 4), mode="nearest")      # sizes decide, not data
    assert syncs.events == []


def test_index_range_checks_cost_one_sync():
    """CuPy wraps an out-of-range index around silently, so embedding and cross entropy check
    the range themselves: one sync per call (the DCGAN has neither; a conditional GAN pays
    one per embedding lookup)."""
    table = nn.Embedding(4, 2).to("strict")
    labels = backend.to_device(np.array([0, 3, 1]), "strict")
    logits = minigan.zeros(3, 4, device="strict")
    for call in (lambda: table(labels), lambda: nn.functional.cross_entropy(logits, labels)):
        with count_syncs() as syncs:
            call()
        assert (syncs.device_to_host, syncs.host_to_device) == (1, 0), syncs
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 4\), got values from 1 to 4"):
        table(labels + 1)


# A tiny DCGAN: 16x16 cats, 64 images, batches of 8: eight batches per epoch.
TINY = ["--device", "strict", "--image-size", "16", "--ngf", "4", "--ndf", "4", "--nz", "8",
        "--num-images", "64", "--batch-size", "8", "--flip", "--ema", "0.9",
        "--sample-every", "100", "--checkpoint-every", "100"]


@pytest.mark.parametrize("loss, n_critic", [("ns", 1), ("wgan-gp", 2)])
def test_a_dcgan_training_step_keeps_its_sync_budget(tmp_path, loss, n_critic):
    """The sync budget of one step of `examples/cats_dcgan.py` on a device, logging included:

    - device to host: ``n_critic + 1`` syncs, one per update: `GANTrainer._fetch` brings the
      update's logged numbers (losses, D outputs, penalties) back in one transfer and stops on a
      NaN loss before the update is applied. The progress bar then formats host floats.
    - host to device: none. The dataset is preloaded; z, instance noise, dropout and penalty
      weights are drawn on the device (`minigan.random`); the epoch's shuffled order and flips
      (n numbers) go over once per epoch, so the first step of an epoch makes 2 uploads.

    Sampling and checkpoints (every ``--sample-every`` / ``--checkpoint-every`` steps) read
    images and weights back on purpose, and so does the last step; none of the steps measured does.
    """
    marks = []
    with count_syncs() as syncs:
        def after_step(trainer, log):
            marks.append(len(syncs.events))
        cats_dcgan.main(TINY + ["--out", str(tmp_path), "--loss", loss, "--n-critic",
                                str(n_critic), "--steps", "5"], callback=after_step)
    marks = marks[:4]  # step 5, the last, saves samples and a checkpoint
    steps = [syncs.events[a:b] for a, b in zip(marks, marks[1:])]  # steps 2..4, mid-epoch
    assert len(steps) == 3
    for events in steps:
        to_host = [e for e in events if e[0] == "device_to_host"]
        uploads = [e for e in events if e[0] == "host_to_device"]
        assert len(to_host) == n_critic + 1 and not uploads, syncs
        assert all("trainer.py" in where for _, _, where in to_host), syncs
