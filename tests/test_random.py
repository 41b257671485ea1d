"""Seeded generators that draw on the device (minigan/random.py): the same seed gives the same
numbers, a saved state continues the stream exactly, and draws never leave the device."""
import numpy as np
import pytest

import minigan
from minigan import backend, nn
from minigan.random import Generator


def host(array):
    return backend.to_numpy(array)


def test_draws_are_arrays_on_the_generators_device(device):
    g = Generator(device).manual_seed(3)
    for draw in (g.random((2, 3), "float32"), g.standard_normal((4,), "float64")):
        assert backend.device_of(draw) == device
    assert draw.dtype == np.float64 and g.offset == 2


def test_same_seed_same_numbers_and_every_draw_is_new(device):
    a, b = Generator(device).manual_seed(7), Generator(device).manual_seed(7)
    first = host(a.standard_normal((100,), "float32"))
    second = host(a.standard_normal((100,), "float32"))
    np.testing.assert_array_equal(first, host(b.standard_normal((100,), "float32")))
    assert not np.array_equal(first, second)
    other = Generator(device).manual_seed(8)
    assert not np.array_equal(first, host(other.standard_normal((100,), "float32")))
    uniform = host(a.random((10000,), "float64"))
    assert 0 <= uniform.min() and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.02


def test_a_saved_state_continues_the_stream_exactly(device):
    straight = Generator(device).manual_seed(5)
    straight.random((3,), "float32")
    state = straight.get_state()
    assert state == {"seed": 5, "offset": 1}
    expected = [host(straight.standard_normal((4,), "float32")),
                host(straight.random((2,), "float64"))]
    resumed = Generator(device)
    resumed.set_state(state)
    np.testing.assert_array_equal(host(resumed.standard_normal((4,), "float32")), expected[0])
    np.testing.assert_array_equal(host(resumed.random((2,), "float64")), expected[1])


def test_manual_seed_reseeds_every_device_and_randn_draws_there(device):
    minigan.manual_seed(11)
    x = minigan.randn(2, 5, device=device)
    assert x.device == device and x.dtype == np.float32
    mask = nn.functional.dropout(minigan.ones(50, device=device), 0.5)
    minigan.manual_seed(11)
    np.testing.assert_array_equal(minigan.randn(2, 5, device=device).numpy(), x.numpy())
    again = nn.functional.dropout(minigan.ones(50, device=device), 0.5)
    np.testing.assert_array_equal(again.numpy(), mask.numpy())
    assert minigan.random.default_generator(device).get_state() == {"seed": 11, "offset": 2}


def test_rng_state_round_trips_through_a_checkpoint(tmp_path, device):
    minigan.manual_seed(2)
    minigan.rand(3, device=device)
    minigan.save({"rng": minigan.random.get_rng_state()}, tmp_path / "rng.npz")
    expected = minigan.rand(3, device=device).numpy()
    minigan.manual_seed(0)
    minigan.random.set_rng_state(minigan.load(tmp_path / "rng.npz")["rng"])
    np.testing.assert_array_equal(minigan.rand(3, device=device).numpy(), expected)


def test_a_generator_draws_only_on_its_own_device():
    with pytest.raises(backend.DeviceError, match="generator on 'cpu' cannot draw a tensor on"):
        minigan.randn(2, device="strict", generator=Generator("cpu"))
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        Generator().manual_seed(-1)
    old_checkpoint = {"bit_generator": "PCG64", "state": {"state": 1, "inc": 2}}
    with pytest.raises(ValueError, match="expected {'seed': ..., 'offset': ...}"):
        Generator().set_state(old_checkpoint)


def test_a_host_numpy_generator_still_works_and_is_copied_over():
    x = minigan.randn(3, device="strict", generator=np.random.default_rng(0))
    expected = np.random.default_rng(0).standard_normal(3).astype(np.float32)
    np.testing.assert_array_equal(x.numpy(), expected)
