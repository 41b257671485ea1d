"""The backend: devices, moves, and the strict CuPy emulator's refusals."""
import numpy as np
import pytest

import minigan as mg
from minigan import backend
from minigan.testing.strict import StrictArray, xp as strict_xp


def test_array_module_follows_the_data():
    assert backend.get_array_module(np.ones(2)) is np
    assert backend.get_array_module(strict_xp.ones(2)) is strict_xp
    assert backend.get_array_module(mg.ones(2).to("strict")) is strict_xp
    assert backend.get_array_module(1.0, None) is np


def test_to_numpy_of_a_tensor_is_its_data(device):
    # np.asarray(tensor) would iterate it into an object array of 0-d Tensors
    t = mg.tensor([[5, 7], [1, 0]], device=device)
    array = mg.to_numpy(t)
    assert array.dtype == np.int64 and array.shape == (2, 2)
    np.testing.assert_array_equal(array, [[5, 7], [1, 0]])


def test_device_names_are_canonical():
    assert backend.parse_device("CPU") == "cpu"
    assert backend.parse_device("strict") == "strict:0"
    assert backend.parse_device(" Strict:01 ") == "strict:1"
    with pytest.raises(backend.DeviceError, match="unknown device 'tpu'"):
        backend.parse_device("tpu")
    with pytest.raises(backend.DeviceError, match="unknown device 'cuda:x'"):
        backend.parse_device("cuda:x")
    with pytest.raises(backend.DeviceError, match="emulates 2 devices"):
        backend.parse_device("strict:2")


@pytest.mark.skipif(backend.cuda_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_how_to_install():
    with pytest.raises(backend.DeviceError, match=r"no usable GPU: .*gpu-cuda12.*gpu-cuda13"):
        mg.ones(2, device="cuda")
    with pytest.raises(backend.DeviceError, match="cuda:1"):
        mg.tensor([1.0]).to("cuda:1")


def test_moves_round_trip():
    host = np.arange(6.0).reshape(2, 3)
    on_strict = backend.to_device(host, "strict")
    assert isinstance(on_strict, StrictArray) and backend.device_of(on_strict) == "strict:0"
    np.testing.assert_array_equal(backend.to_numpy(on_strict), host)
    t = mg.tensor(host).to("strict")
    assert t.device == "strict:0" and t.to("strict") is t and t.to("strict:0") is t
    np.testing.assert_array_equal(t.cpu().numpy(), host)
    on_1 = t.to("strict:1")
    assert on_1.device == "strict:1" and backend.device_of(on_1.data) == "strict:1"
    np.testing.assert_array_equal(on_1.to("cpu").numpy(), host)


def test_default_device_from_function_and_environment(monkeypatch):
    previous = mg.set_default_device("strict")
    try:
        assert mg.zeros(2).device == "strict:0" and mg.randn(2).device == "strict:0"
    finally:
        mg.set_default_device(previous)
    monkeypatch.setenv("MINIGAN_DEVICE", "strict:1")
    monkeypatch.setattr(backend, "_default_device", None)
    assert backend.get_default_device() == "strict:1"
    assert mg.zeros(2).device == "strict:1" and mg.arange(3).device == "strict:1"


def test_strict_arrays_refuse_implicit_host_conversion():
    a = strict_xp.ones((2, 3))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.lib.stride_tricks.as_strided(a, (2, 2), (8, 8))
    strict_xp.lib.stride_tricks.as_strided(a, (2, 2), (8, 8))  # the device's own is fine


def test_strict_arrays_refuse_mixing_with_host_arrays():
    a = strict_xp.ones(3)
    for mixed in (lambda: a + np.ones(3), lambda: np.ones(3) * a,
                  lambda: strict_xp.concatenate([a, np.ones(3)]), lambda: strict_xp.maximum(a, np.zeros(3))):
        with pytest.raises(TypeError, match="host numpy.ndarray"):
            mixed()
    assert float(a.sum()) == 3.0 and (a * np.float32(2)).dtype == np.float64  # scalars are fine


def test_strict_reductions_return_arrays_like_cupy():
    assert isinstance(strict_xp.ones(3).sum(), StrictArray)


def test_tensor_ops_run_on_strict(device):
    x = mg.tensor(np.arange(4.0), device=device, requires_grad=True)
    (mg.softplus(x) * x).sum().backward()
    assert x.grad.device == device


def test_keep_freed_memory_can_be_switched_off(monkeypatch):
    """Training asks glibc to keep freed memory (minigan/kernels/memory.py); the switch works,
    and on glibc the request is accepted."""
    import platform
    import sys
    from minigan.kernels import memory as cpu_memory
    monkeypatch.setenv("MINIGAN_KEEP_FREED_MEMORY", "0")
    assert cpu_memory.keep_freed_memory() is False
    monkeypatch.delenv("MINIGAN_KEEP_FREED_MEMORY")
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert cpu_memory.keep_freed_memory() is True


def test_import_leaves_malloc_alone_and_training_sets_it():
    """A process-wide malloc setting is not made by ``import minigan`` (a library should not
    change its host process that way); GANTrainer makes it, as do the examples and the
    benchmarks (minigan/kernels/memory.py)."""
    import subprocess
    import sys
    code = """
import ctypes
asked = []
lookup = ctypes.CDLL.__getattr__
def spy(self, name):
    asked.append(name)
    return lookup(self, name)
ctypes.CDLL.__getattr__ = spy
import minigan
from minigan import nn, optim
from minigan.gan import GANTrainer
print("mallopt" in asked)
G, D = nn.Linear(2, 2), nn.Linear(2, 1)
G.nz = 2
GANTrainer(G, D, optim.Adam(G.parameters()), optim.Adam(D.parameters()))
print("mallopt" in asked)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]
