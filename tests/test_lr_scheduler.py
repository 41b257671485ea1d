"""minigan.optim.lr_scheduler: each scheduler sets the lr its formula gives at every epoch,
agrees with torch.optim.lr_scheduler (when torch is installed), resumes the same sequence from
its state_dict, and refuses bad settings with a clear error.
"""
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigan as mg
import minigan.nn as nn
import minigan.optim as optim
from minigan.optim.lr_scheduler import LambdaLR, LinearLR, LRScheduler, StepLR

LRS = st.lists(st.floats(1e-5, 1.0), min_size=1, max_size=3)
STEPS = st.integers(0, 40)


def make_optimizer(lrs, device="cpu"):
    """SGD with one group of one parameter per lr."""
    groups = [{"params": [nn.Parameter(mg.zeros(2, device=device))], "lr": lr} for lr in lrs]
    return optim.SGD(groups)


def lr_sequence(scheduler, steps):
    """The lrs of epochs 0..steps, as set in the optimizer and as reported."""
    seen = []
    for _ in range(steps + 1):
        lrs = [group["lr"] for group in scheduler.optimizer.param_groups]
        assert scheduler.get_last_lr() == lrs
        seen.append(lrs)
        scheduler.step()
    return seen


# ------------------------------------------------------------------------ the formulas
@given(LRS, st.floats(0.5, 1.0), STEPS)
def test_lambda_lr_multiplies_the_initial_lr(lrs, base, steps):
    lambdas = [lambda e, k=k: base ** (e + k) for k in range(len(lrs))]  # one per group
    scheduler = LambdaLR(make_optimizer(lrs), lambdas)
    expected = [[lr * fn(e) for lr, fn in zip(lrs, lambdas)] for e in range(steps + 1)]
    assert lr_sequence(scheduler, steps) == expected


@given(LRS, STEPS)
def test_lambda_lr_one_function_serves_every_group(lrs, steps):
    scheduler = LambdaLR(make_optimizer(lrs), lambda e: 1 / (1 + e))
    expected = [[lr * (1 / (1 + e)) for lr in lrs] for e in range(steps + 1)]
    assert lr_sequence(scheduler, steps) == expected


@given(LRS, st.integers(1, 7), st.floats(0.05, 1.0), STEPS)
def test_step_lr_multiplies_by_gamma_every_step_size_epochs(lrs, step_size, gamma, steps):
    scheduler = StepLR(make_optimizer(lrs), step_size, gamma)
    expected = [[lr * gamma ** (e // step_size) for lr in lrs] for e in range(steps + 1)]
    assert lr_sequence(scheduler, steps) == expected


@given(LRS, st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.integers(1, 12), STEPS)
def test_linear_lr_moves_in_a_straight_line_then_stays(lrs, start, end, total, steps):
    seen = lr_sequence(LinearLR(make_optimizer(lrs), start, end, total), steps)
    for e, lrs_e in enumerate(seen):
        factor = start + (end - start) * min(e, total) / total
        assert lrs_e == [lr * factor for lr in lrs]
    assert seen[0] == [lr * start for lr in lrs]
    if steps >= total:
        np.testing.assert_allclose(seen[total], [lr * end for lr in lrs], rtol=1e-12, atol=1e-15)
        assert all(row == seen[total] for row in seen[total:])  # flat after total_iters


def test_the_initial_lr_is_recorded_once():
    opt = make_optimizer([0.1, 0.2])
    StepLR(opt, 1, gamma=0.5)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.2]
    opt.param_groups[0]["lr"] = 0.7
    second = LambdaLR(opt, lambda e: 1.0)  # a second scheduler keeps the recorded lr
    assert second.base_lrs == [0.1, 0.2] and second.get_last_lr() == [0.1, 0.2]


def test_the_optimizer_state_dict_keeps_initial_lr():
    opt = make_optimizer([0.1])
    scheduler = StepLR(opt, 1, gamma=0.5)
    scheduler.step()
    saved = opt.state_dict()["param_groups"][0]
    assert saved["initial_lr"] == 0.1 and saved["lr"] == 0.05
    fresh = make_optimizer([0.3])
    fresh.load_state_dict(opt.state_dict())
    assert fresh.param_groups[0]["initial_lr"] == 0.1 and fresh.param_groups[0]["lr"] == 0.05


# -------------------------------------------------------------------------- resuming
@pytest.mark.parametrize("make", [lambda opt: LambdaLR(opt, lambda e: 0.9 ** e),
                                  lambda opt: StepLR(opt, 3, gamma=0.5),
                                  lambda opt: LinearLR(opt, 0.25, 1.0, total_iters=6)],
                         ids=["LambdaLR", "StepLR", "LinearLR"])
def test_a_resumed_scheduler_continues_the_same_run(make, device, tmp_path):
    """Train 4 steps, save optimizer and scheduler, rebuild both from the file and train 6
    more: the lrs and the weights equal those of 10 uninterrupted steps, bit for bit."""
    grads = [np.random.default_rng(k).normal(size=2) for k in range(10)]

    def train(opt, scheduler, steps, lrs):
        for g in grads[len(lrs):len(lrs) + steps]:
            p = opt.param_groups[0]["params"][0]
            p.grad = mg.Tensor(g, device=device)
            lrs.append(scheduler.get_last_lr())
            opt.step()
            scheduler.step()
        return opt.param_groups[0]["params"][0].numpy().tolist()

    opt = optim.Adam([nn.Parameter(mg.zeros(2, dtype=mg.float64, device=device))], lr=0.1)
    whole_lrs = []
    whole = train(opt, make(opt), 10, whole_lrs)

    opt = optim.Adam([nn.Parameter(mg.zeros(2, dtype=mg.float64, device=device))], lr=0.1)
    scheduler, lrs = make(opt), []
    train(opt, scheduler, 4, lrs)
    mg.save({"model": opt.param_groups[0]["params"][0], "opt": opt.state_dict(),
             "scheduler": scheduler.state_dict()}, tmp_path / "ckpt.npz")
    checkpoint = mg.load(tmp_path / "ckpt.npz")
    param = nn.Parameter(mg.Tensor(checkpoint["model"], device=device))
    resumed_opt = optim.Adam([param], lr=0.5)
    resumed = make(resumed_opt)  # a new run's scheduler, then the saved state
    resumed_opt.load_state_dict(checkpoint["opt"])
    resumed.load_state_dict(checkpoint["scheduler"])
    assert train(resumed_opt, resumed, 6, lrs) == whole and lrs == whole_lrs
    assert param.device == device


def test_rebuilding_at_last_epoch_continues_as_pytorch_does():
    """PyTorch's other way to resume: load the optimizer (it keeps initial_lr), then build
    the scheduler with last_epoch = epochs done - 1; its initial step reaches the next epoch."""
    opt = make_optimizer([0.1])
    scheduler = StepLR(opt, 2, gamma=0.5)
    for _ in range(5):
        scheduler.step()
    rebuilt_opt = make_optimizer([0.3])
    rebuilt_opt.load_state_dict(opt.state_dict())
    rebuilt = StepLR(rebuilt_opt, 2, gamma=0.5, last_epoch=4)
    assert rebuilt.last_epoch == scheduler.last_epoch == 5
    assert lr_sequence(rebuilt, 6) == lr_sequence(scheduler, 6)


def test_lambda_lr_saves_the_attributes_of_callable_objects():
    class Halving:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    halving = Halving()
    scheduler = LambdaLR(make_optimizer([0.1, 0.2]), [halving, lambda e: 1.0])
    halving.rate = 0.25
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.25}, None]  # a plain function is not saved
    fresh_halving = Halving()
    fresh = LambdaLR(make_optimizer([0.1, 0.2]), [fresh_halving, lambda e: 1.0])
    fresh.load_state_dict(state)
    assert fresh_halving.rate == 0.25 and fresh.lr_lambdas[0] is fresh_halving


# ------------------------------------------------------------------ PyTorch as oracle
def torch_twin(torch, name, lrs, kwargs):
    opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr}
                           for lr in lrs])
    return getattr(torch.optim.lr_scheduler, name)(opt, **kwargs)


def torch_lr_sequence(scheduler, steps):
    seen = []
    for _ in range(steps + 1):
        seen.append(list(scheduler.get_last_lr()))
        scheduler.optimizer.step()  # no gradients: nothing moves; keeps PyTorch's order check quiet
        scheduler.step()
    return seen


SETTINGS = st.one_of(
    st.builds(lambda c: ("LambdaLR", {"lr_lambda": lambda e: c ** e + 0.1 * (e % 3)}),
              st.floats(0.5, 1.0)),
    st.builds(lambda s, g: ("StepLR", {"step_size": s, "gamma": g}),
              st.integers(1, 7), st.floats(0.05, 1.0)),
    st.builds(lambda a, b, t: ("LinearLR", {"start_factor": a, "end_factor": b, "total_iters": t}),
              st.floats(0.01, 1.0), st.floats(0.0, 1.0), st.integers(1, 12)))


@given(LRS, SETTINGS, STEPS)
def test_the_lrs_and_state_dicts_match_pytorch(lrs, setting, steps):
    torch = pytest.importorskip("torch")
    name, kwargs = setting
    ours = getattr(optim.lr_scheduler, name)(make_optimizer(lrs), **kwargs)
    theirs = torch_twin(torch, name, lrs, kwargs)
    ours_seen, theirs_seen = lr_sequence(ours, steps), torch_lr_sequence(theirs, steps)
    if name == "LambdaLR":
        assert ours_seen == theirs_seen
    else:  # PyTorch multiplies step by step; minigan uses the closed form: equal to rounding
        np.testing.assert_allclose(ours_seen, theirs_seen, rtol=1e-12, atol=1e-15)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert ours.get_lr() == theirs._get_closed_form_lr()  # bit for bit
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    for key, value in ours_state.items():
        if key == "_last_lr" and name != "LambdaLR":
            np.testing.assert_allclose(value, theirs_state[key], rtol=1e-12, atol=1e-15)
        else:
            assert value == theirs_state[key], key


def test_the_signatures_are_pytorchs():
    torch = pytest.importorskip("torch")
    for cls in (LRScheduler, LambdaLR, StepLR, LinearLR):
        theirs = inspect.signature(getattr(torch.optim.lr_scheduler, cls.__name__))
        ours = inspect.signature(cls)
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], cls.__name__


def test_a_pytorch_state_dict_loads():
    torch = pytest.importorskip("torch")
    theirs = torch_twin(torch, "StepLR", [0.1], {"step_size": 2, "gamma": 0.5})
    torch_lr_sequence(theirs, 4)
    ours = StepLR(make_optimizer([0.1]), 2, gamma=0.5)
    ours.load_state_dict(theirs.state_dict())
    ours.step()
    assert ours.last_epoch == 6 and ours.get_last_lr() == [0.1 * 0.5 ** 3]


# ------------------------------------------------------------------------ bad input
def test_bad_settings_are_refused_clearly():
    opt = make_optimizer([0.1, 0.2])
    with pytest.raises(TypeError, match="is not an Optimizer"):
        StepLR([nn.Parameter(mg.zeros(2))], 1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        LambdaLR("adam", lambda e: 1.0)
    for step_size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="step_size must be a positive integer"):
            StepLR(opt, step_size)
    for start in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError, match="start_factor must lie in"):
            LinearLR(opt, start_factor=start)
    for end in (-0.1, 1.1):
        with pytest.raises(ValueError, match="end_factor must lie in"):
            LinearLR(opt, end_factor=end)
    with pytest.raises(ValueError, match="total_iters must be a positive integer"):
        LinearLR(opt, total_iters=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="lr_lambda must be a function"):
        LambdaLR(opt, 0.5)
    assert "initial_lr" not in opt.param_groups[0]  # nothing was half-built


def test_resuming_without_initial_lr_names_the_fix():
    with pytest.raises(KeyError, match="initial_lr.*param_groups\\[0\\].*load the optimizer"):
        StepLR(make_optimizer([0.1]), 2, last_epoch=3)


def test_a_mismatched_state_or_optimizer_is_refused():
    scheduler = StepLR(make_optimizer([0.1, 0.2]), 2)
    with pytest.raises(ValueError, match="1 param groups, this StepLR has 2"):
        scheduler.load_state_dict(StepLR(make_optimizer([0.1]), 2).state_dict())
    scheduler.optimizer.add_param_group({"params": [nn.Parameter(mg.zeros(2))]})
    with pytest.raises(ValueError, match="build the scheduler after add_param_group"):
        scheduler.step()
