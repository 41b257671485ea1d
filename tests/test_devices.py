"""Devices: canonical names, the current device, and CUDA's start-up check.

A GPU computes on its *current* device; CuPy refuses an op on an array that lives on another
device (without peer access between the GPUs). The strict emulator has two devices and a
current device with the same rule, so a model on "strict:1" trained while device 0 is current
proves that minigan runs each op under its inputs' device (docs/07_backend.md).
"""
import contextlib
import types

import numpy as np
import pytest

import minigan as mg
from minigan import backend, optim
from minigan.gan import DCGANDiscriminator, DCGANGenerator, GANTrainer, dcgan_init
from minigan.testing import strict
from minigan.testing.strict import xp as strict_xp

OTHER_DEVICE = "The device where the array resides \\(1\\) is different from the current device \\(0\\)"


# ------------------------------------------------------------- the emulator's current device
def test_arrays_are_made_on_the_current_device():
    assert strict.current_device() == 0
    with strict.Device(1):
        a = strict_xp.ones(3)
        b = a * 2 + strict_xp.asarray(np.ones(3))
        assert strict.current_device() == 1
    assert strict.current_device() == 0
    assert a.device.id == b.device.id == 1 and strict_xp.ones(3).device.id == 0
    assert backend.device_of(b) == "strict:1"


def test_an_op_on_another_devices_array_raises_cupys_error():
    with strict.Device(1):
        a = strict_xp.ones((2, 3))
    on_0 = strict_xp.ones((2, 3))
    for op in (lambda: a + 1, lambda: -a, lambda: a.sum(), lambda: strict_xp.exp(a),
               lambda: a + on_0, lambda: on_0 * a, lambda: strict_xp.stack([on_0, a]),
               lambda: a[strict_xp.asarray(np.array([1, 0]))], lambda: a.__iadd__(1),
               lambda: a.__setitem__(0, 5.0)):
        with pytest.raises(ValueError, match=OTHER_DEVICE):
            op()
    with strict.Device(1):  # under its own device all is well; mixing still is not
        assert float((a + 1).sum()) == 12.0
        with pytest.raises(ValueError, match="resides \\(0\\) is different from the current device \\(1\\)"):
            a + on_0


def test_views_and_copies_follow_cupy():
    with strict.Device(1):
        a = strict_xp.arange(6.0).reshape(2, 3)
    assert a[0].device.id == a[:, 1:].device.id == a.T.device.id == 1  # views: no kernel runs
    assert a.copy().device.id == 0  # CuPy's one cross-device copy lands on the current device
    np.testing.assert_array_equal(a.get(), np.arange(6.0).reshape(2, 3))  # so does get()


def test_device_context():
    with backend.device_context("cpu"):
        assert strict.current_device() == 0
    with backend.device_context("strict:1"):
        assert strict.current_device() == 1
        with backend.device_context("strict"):
            assert strict.current_device() == 0
        assert strict_xp.zeros(2).device.id == 1
    assert strict.current_device() == 0


def test_tensors_work_on_the_second_device_while_the_first_is_current():
    x = mg.tensor(np.arange(4.0), device="strict:1", requires_grad=True)
    y = (mg.softplus(x) * x + mg.ones(4, dtype="float64", device="strict:1")).sum()
    y.backward()
    assert y.device == x.grad.device == "strict:1" and strict.current_device() == 0
    with pytest.raises(mg.DeviceError, match=r"\(4,\) on strict:1.*\(4,\) on strict:0"):
        x + x.to("strict:0")


def test_a_dcgan_step_on_the_second_device_matches_the_cpu():
    """D and G steps of a tiny DCGAN (convolutions, batch norm, Adam, instance noise, EMA,
    logging) on strict:1 while device 0 is current: every tensor stays on strict:1, and the
    numbers are those of the same seed on the CPU."""
    def train(device):
        mg.manual_seed(0)
        G = DCGANGenerator(nz=8, ngf=4, image_size=8, channels=3)
        D = DCGANDiscriminator(ndf=4, image_size=8, channels=3)
        G.apply(dcgan_init), D.apply(dcgan_init)
        G.to(device), D.to(device)
        trainer = GANTrainer(G, D, optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                             optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999)),
                             instance_noise=0.1, noise_anneal_steps=10, ema_decay=0.9,
                             seed=0, num_samples=4)
        real = mg.tensor(np.random.default_rng(1).uniform(-1, 1, (6, 3, 8, 8)), dtype="float32")
        for _ in range(2):
            fake = G(trainer.noise(6))
            log = trainer.d_step(real.to(device), fake)
            log.update(trainer.g_step(fake))
        return G, D, trainer, log

    G, D, trainer, log = train("strict:1")
    assert strict.current_device() == 0
    tensors = [*G.state_dict().values(), *D.state_dict().values(),
               *[p.grad for p in [*G.parameters(), *D.parameters()]],
               *[v for opt in (trainer.g_optimizer, trainer.d_optimizer)
                 for s in opt.state.values() for v in s.values() if isinstance(v, mg.Tensor)],
               *trainer.ema.state_dict().values(), trainer.sample()]
    assert {t.device for t in tensors} == {"strict:1"}
    G_cpu, _, _, log_cpu = train("cpu")
    assert log.keys() == log_cpu.keys()
    np.testing.assert_allclose([log[k] for k in log], [log_cpu[k] for k in log], rtol=1e-4)
    for name, value in G.state_dict().items():
        np.testing.assert_allclose(value.numpy(), G_cpu.state_dict()[name].numpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=name)


# ---------------------------------------------------------------- CUDA's start-up check
class _FakeGPUArray:
    """Enough of a CuPy array for the start-up check; ``fail`` names the step that breaks."""

    def __init__(self, array, fail):
        self.array, self.fail = array, fail

    def _run(self, step, result):
        if step == self.fail:
            raise _FAILURES[step]
        return _FakeGPUArray(result, self.fail)

    def __mul__(self, k):
        return self._run("kernel", self.array * k)

    def __add__(self, k):
        return self._run("kernel", self.array + k)

    def reshape(self, *shape):
        return _FakeGPUArray(self.array.reshape(*shape), self.fail)

    def __matmul__(self, other):
        return self._run("matmul", self.array @ other.array)


_FAILURES = {
    "driver": RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient "
                           "for CUDA runtime version"),
    "kernel": RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: "
                           "cannot open shared object file: No such file or directory"),
    "matmul": ImportError("libcublas.so.12: cannot open shared object file"),
}


def _fake_cupy(fail=None, count=1):
    def device_count():
        if fail == "driver":
            raise _FAILURES["driver"]
        return count
    return types.SimpleNamespace(
        ndarray=_FakeGPUArray,
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=device_count),
                                   Device=lambda index: contextlib.nullcontext()),
        asarray=lambda host: _FakeGPUArray(np.asarray(host), fail),
        asnumpy=lambda array: array.array)


@pytest.mark.parametrize("fake, missing", [
    (None, "no usable GPU: CuPy is not installed"),
    (_fake_cupy(fail="driver"), "no usable GPU: no NVIDIA driver or no GPU: CUDA says "
                                "RuntimeError: cudaErrorInsufficientDriver"),
    (_fake_cupy(count=0), "no usable GPU: no NVIDIA driver or no GPU: CUDA sees no GPU"),
    (_fake_cupy(fail="kernel"), "no usable GPU: CuPy cannot run without NVRTC, the CUDA runtime "
                                "compiler \\(libnvrtc\\).*libnvrtc.so.12: cannot open"),
    (_fake_cupy(fail="matmul"), "no usable GPU: CuPy cannot run without cuBLAS \\(libcublas\\)"
                                ".*ImportError: libcublas.so.12"),
])
def test_cuda_check_says_what_is_missing(monkeypatch, fake, missing):
    monkeypatch.setattr(backend, "cupy", fake)
    monkeypatch.setattr(backend, "_cupy_import_error", ModuleNotFoundError("No module named 'cupy'"))
    monkeypatch.setattr(backend, "_cuda_state", None)
    assert backend.cuda_available() is False
    with pytest.raises(mg.DeviceError, match=missing + ".*To fix: .*CUDA Version: 12.x.*gpu-cuda12"):
        mg.tensor([1.0], device="cuda")
    assert backend.get_default_device() == "cpu"  # nothing else changed


def test_cuda_check_runs_once_and_accepts_a_working_gpu(monkeypatch):
    fake, calls = _fake_cupy(count=2), []
    count = fake.cuda.runtime.getDeviceCount
    fake.cuda.runtime.getDeviceCount = lambda: calls.append(1) or count()
    monkeypatch.setattr(backend, "cupy", fake)
    monkeypatch.setattr(backend, "_cuda_state", None)
    assert backend.cuda_available() and backend.cuda_available()
    assert backend.parse_device("CUDA") == "cuda:0" and backend.parse_device("cuda:1") == "cuda:1"
    with pytest.raises(mg.DeviceError, match="'cuda:2' asked for, but only 2 GPU"):
        backend.parse_device("cuda:2")
    assert len(calls) == 1
