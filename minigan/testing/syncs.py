"""Counting the host <-> device transfers a piece of code makes, on the strict device.

On a GPU, turning a device number into a Python number (``float(loss)``, ``bool(x.any())``,
``.item()``, ``to_numpy``) makes the host wait until the GPU has finished all the work queued
so far: a *sync*. Between syncs the host runs ahead and queues kernels while the GPU works;
at each sync the GPU runs dry until the host queues the next kernel. Uploads (``asarray`` of
host data, indexing with a host array) are cheap but, done on every call, add up.

Both are invisible on NumPy, so `count_syncs` counts them on device "strict", the CPU stand-in
for CuPy (``minigan/testing/strict.py``)::

    with count_syncs() as syncs:
        trainer.train_step(next_batch)
    assert syncs.device_to_host <= 1, syncs      # the repr lists where each one happened
"""
import contextlib

from . import strict


class Transfers:
    """The transfers seen inside a `count_syncs` block: counts and where each one happened."""

    def __init__(self):
        self.events = []  # (kind, what, "file:line (function)")

    def record(self, kind, what, where):
        self.events.append((kind, what, where))

    @property
    def device_to_host(self):
        return sum(kind == "device_to_host" for kind, _, _ in self.events)

    @property
    def host_to_device(self):
        return sum(kind == "host_to_device" for kind, _, _ in self.events)

    def __repr__(self):
        lines = [f"{self.device_to_host} device-to-host sync(s), "
                 f"{self.host_to_device} host-to-device copies"]
        lines += [f"  {kind}: {what} at {where}" for kind, what, where in self.events]
        return "\n".join(lines)


@contextlib.contextmanager
def count_syncs():
    """Count implicit transfers between host and strict device arrays inside the block."""
    transfers = Transfers()
    strict._counters.append(transfers)
    try:
        yield transfers
    finally:
        strict._counters.remove(transfers)
