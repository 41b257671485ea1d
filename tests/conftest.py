"""Test configuration: devices and hypothesis profiles.

Every test that takes a ``device`` argument runs once per test device:

- default: ``cpu`` (NumPy) and ``strict`` (the CuPy emulator, which fails on host/device mixing);
- ``pytest --device cuda`` (or ``MINIGAN_TEST_DEVICES=cuda``): on CuPy and a real GPU.

Hypothesis profiles: ``ci`` (default: quick and derandomized, so CI is reproducible) and
``deep`` (``HYPOTHESIS_PROFILE=deep``: many more random examples, for a thorough local run).
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=8, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("deep", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=None,
                     help="device to run device tests on (cpu, strict, cuda); repeatable")


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("--device") or \
            os.environ.get("MINIGAN_TEST_DEVICES", "cpu,strict").split(",")
        metafunc.parametrize("device", [d.strip() for d in devices])
