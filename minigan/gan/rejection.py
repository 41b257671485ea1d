"""Discriminator rejection sampling (DRS; Azadi et al. 2019): after training, keep each
generated sample with a probability computed by D, so that the kept samples follow the data
more closely than G alone. Training is unchanged; only sampling is.

Why D knows the answer: the optimal D of the standard GAN is D*(x) = p_d / (p_d + p_g), so
its logit is  D~(x) = log(p_d(x) / p_g(x)).  Rejection sampling from the proposal p_g with a
bound p_d <= M p_g accepts x with probability  p_d(x) / (M p_g(x)) = exp(D~(x) - D~_M),
where D~_M = log M is the largest logit (estimated on a burn-in batch, raised when a larger
one is seen). Most of those probabilities are tiny, so the paper works with their logit and
shifts it by gamma:

    F(x) = D~(x) - D~_M - log(1 - exp(D~(x) - D~_M - eps)) - gamma,   accept w.p. sigmoid(F(x))

With gamma = 0 (and eps -> 0), sigmoid(F) = exp(D~ - D~_M) exactly (F is the logit of that
probability); gamma > 0 rejects more, gamma < 0 accepts more. As in the paper, gamma is set
for every batch to a percentile of F (95th by default), so about the best 5% of a batch are
accepted with probability above 1/2 and the rest in proportion to their density ratio.

D's logit only estimates log(p_d / p_g) for the generator it was trained against: sample
from that generator (or retrain D briefly against the one you sample from). See
``docs/08_toy_benchmark.md``.
"""
from .. import backend
from ..autograd import Tensor, no_grad
from ..creation import rand, randn
from ..ops.activation import sigmoid


@backend.on_input_device
def drs_logit(logits, logit_max, gamma=0.0, eps=1e-6):
    """F(x) above, for an array of D's logits (any xp array; same dtype back)."""
    xp = backend.get_array_module(logits)
    # shifted <= -eps < 0 (logit_max is the largest logit), so 1 - exp(shifted) > 0
    shifted = logits - logits.dtype.type(logit_max + eps)
    return shifted - xp.log(-xp.expm1(shifted)) + logits.dtype.type(eps - gamma)


@backend.on_input_device
def drs_acceptance(logits, logit_max, gamma=0.0, eps=1e-6):
    """The acceptance probability sigmoid(F(x)) of each sample (minigan's sigmoid, which does
    not overflow for the very negative F of unlikely samples)."""
    return sigmoid(Tensor(drs_logit(logits, logit_max, gamma, eps))).data


def rejection_sample(generator, discriminator, num_samples, nz, batch_size=256, percentile=95.0,
                     burn_in=10, rng=None, device=None, dtype=None):
    """``num_samples`` points from ``generator`` filtered by DRS with ``discriminator``.

    Noise batches of ``batch_size`` (the size D was trained on: a minibatch-stddev D depends
    on the batch) go through G and D without a graph; ``burn_in`` batches first estimate
    D~_M. ``percentile=None`` sets gamma = 0: plain rejection sampling, exact when D~ is the
    true log density ratio. ``rng`` is a host NumPy Generator. Returns (samples Tensor,
    acceptance rate).
    """
    first = next(generator.parameters())
    device, dtype = device or first.device, dtype or first.dtype
    was_training = generator.training, discriminator.training
    generator.eval()
    discriminator.eval()

    def scored_batch():
        with no_grad():
            x = generator(randn(batch_size, nz, dtype=dtype, device=device, generator=rng))
            return x, discriminator(x).data

    with backend.device_context(device):  # a GPU works on its current device
        logit_max = max(scored_batch()[1].max().item() for _ in range(burn_in))
        kept, count, tried = [], 0, 0
        while count < num_samples:
            x, logits = scored_batch()
            logit_max = max(logit_max, logits.max().item())
            gamma = 0.0
            if percentile is not None:
                xp = backend.get_array_module(logits)
                gamma = xp.percentile(drs_logit(logits, logit_max), percentile).item()
            accept = drs_acceptance(logits, logit_max, gamma)
            u = rand(batch_size, dtype=dtype, device=device, generator=rng).data
            keep = u < accept
            kept.append(x.data[keep])
            count += int(keep.sum().item())
            tried += batch_size
        samples = backend.get_array_module(kept[0]).concatenate(kept)[:num_samples]
    generator.train(was_training[0])
    discriminator.train(was_training[1])
    return Tensor(samples), count / tried
