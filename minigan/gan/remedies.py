"""One trainer for any remedy: the choice the examples' command lines make.

    trainer = make_trainer(G, D, g_opt, d_opt, objective="ns", began=0.5, **options)

Each remedy for mode collapse and each energy objective is its own `GANTrainer` subclass,
so a run uses at most one of them (REMEDIES). The architecture a remedy needs stays with the
caller, which knows its networks: an autoencoder D for EBGAN and BEGAN, a `QHead` on D's
features and a G that takes the codes for InfoGAN, a packed D for PacGAN (a D option, not a
trainer). ``examples/toy_2d.py`` and ``examples/cats_dcgan.py`` both build their trainer here.
"""
from .diffusion import DiffusionGANTrainer, DiffusionNoise
from .energy import BEGANTrainer, EBGANTrainer
from .infogan import InfoGANTrainer
from .mode_seeking import ModeSeekingTrainer
from .trainer import GANTrainer
from .unrolled import UnrolledGANTrainer

# The remedies by their settings' names: unrolled = k look-ahead D steps, mode_seeking = the
# loss's weight, infogan = K categories, ebgan = the margin, began = gamma, diffusion = T_max.
REMEDIES = ("unrolled", "mode_seeking", "infogan", "ebgan", "began", "diffusion")


def chosen_remedies(settings):
    """The names in REMEDIES that ``settings`` (a dict) sets to something other than None."""
    return [name for name in REMEDIES if settings.get(name) is not None]


def make_trainer(G, D, g_optimizer, d_optimizer, objective="ns", unrolled=None,
                 unrolled_lr=None, mode_seeking=None, infogan=None, q_head=None, ebgan=None,
                 began=None, diffusion=None, **options):
    """`GANTrainer`, or the trainer of the one remedy that is not None; ``options`` go to it
    (n_critic, r1_gamma, d_skip_below, ema_decay, seed, ...).

    InfoGAN needs ``q_head`` (a `QHead` on D's features, K = ``infogan`` categories); its
    parameters join ``g_optimizer`` (Q learns with G). EBGAN and BEGAN need an autoencoder D
    and bring their own losses, so ``objective`` is not used with them.
    """
    chosen = chosen_remedies(dict(unrolled=unrolled, mode_seeking=mode_seeking, infogan=infogan,
                                  ebgan=ebgan, began=began, diffusion=diffusion))
    if len(chosen) > 1:
        raise ValueError(f"make_trainer: choose at most one remedy, got {', '.join(chosen)}")
    if unrolled:
        return UnrolledGANTrainer(G, D, g_optimizer, d_optimizer, objective=objective,
                                  unrolled_steps=unrolled, unrolled_lr=unrolled_lr, **options)
    if mode_seeking:
        return ModeSeekingTrainer(G, D, g_optimizer, d_optimizer, objective=objective,
                                  ms_weight=mode_seeking, **options)
    if infogan:
        if q_head is None or q_head.num_categories != infogan:
            raise ValueError(f"make_trainer: InfoGAN with {infogan} categories needs a "
                             f"q_head with as many")
        g_optimizer.add_param_group({"params": list(q_head.parameters())})
        return InfoGANTrainer(G, D, g_optimizer, d_optimizer, q_head, objective=objective,
                              **options)
    if ebgan:
        return EBGANTrainer(G, D, g_optimizer, d_optimizer, margin=ebgan, **options)
    if began is not None:
        return BEGANTrainer(G, D, g_optimizer, d_optimizer, gamma=began, **options)
    if diffusion:
        return DiffusionGANTrainer(G, D, g_optimizer, d_optimizer, objective=objective,
                                   diffusion=DiffusionNoise(t_max=diffusion), **options)
    return GANTrainer(G, D, g_optimizer, d_optimizer, objective=objective, **options)
