"""Test configuration: devices and hypothesis profiles.

Every test that takes a ``device`` argument runs once per test device:

- default: ``cpu`` (NumPy) and ``strict`` (the CuPy emulator, which fails on host/device mixing);
- ``pytest --device strict:1``: the emulator's second device, while device 0 stays current, so
  an array made outside its inputs' device context fails as it would on a second GPU;
- ``pytest --device cuda`` (or ``MINIGAN_TEST_DEVICES=cuda``): on CuPy and a real GPU.

Tests that take the ``kernel_set`` fixture (the gradient checks of conv, batch norm and the
activations) run once with the fast kernels and once with the reference kernels.

Hypothesis profiles: ``ci`` (default: quick and derandomized, so CI is reproducible) and
``deep`` (``HYPOTHESIS_PROFILE=deep``: many more random examples, for a thorough local run).
"""
import os

import pytest
from hypothesis import HealthCheck, settings

import minigan

settings.register_profile("ci", max_examples=8, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("deep", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=None,
                     help="device to run device tests on (cpu, strict, strict:1, cuda, cuda:1); "
                          "repeatable")


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("--device") or \
            os.environ.get("MINIGAN_TEST_DEVICES", "cpu,strict").split(",")
        # Canonical names ("cuda" -> "cuda:0", "strict" -> "strict:0"), the ones Tensor.device
        # reports, so tests may compare x.device == device on every device.
        metafunc.parametrize("device", [minigan.backend.parse_device(d) for d in devices])


@pytest.fixture(params=["fast", "reference"])
def kernel_set(request):
    """Run a test once under each kernel set (minigan/kernels/): the gradient checks prove
    both the fast kernels and their plain reference twins."""
    with minigan.kernels.use(request.param):
        yield request.param
