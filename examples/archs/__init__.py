"""Architecture specs for examples/cats_gan.py, one module per family. Each defines

    DEFAULTS                 the family's settings (loss, lr_g, lr_d, betas, widths, ...),
                             which the command line may override
    build_trainer(config)    -> a trainer for minigan.gan.loop.run_training, its models on
                             config["device"] and seeded by config["seed"]

`gan_trainer` below is the part they share: seed, models to the device, two Adam optimizers.
"""
import minigan
from minigan import optim
from minigan.gan import GANTrainer


def gan_trainer(config, build_models, trainer_class=GANTrainer, num_samples=64, **options):
    """``build_models()`` -> (G, D), called after seeding minigan's generator with
    config["seed"] (layer initialisation draws from it); then the models go to
    config["device"] and get Adam(lr_g / lr_d, betas). ``num_samples``: the size of the
    progress grid; ``options`` go to ``trainer_class``."""
    minigan.manual_seed(config["seed"])
    G, D = build_models()
    G.to(config["device"])
    D.to(config["device"])
    betas = tuple(config["betas"])
    return trainer_class(G, D, optim.Adam(G.parameters(), lr=config["lr_g"], betas=betas),
                         optim.Adam(D.parameters(), lr=config["lr_d"], betas=betas),
                         objective=config["loss"], n_critic=config["n_critic"],
                         ema_decay=config.get("ema"), seed=config["seed"], num_samples=num_samples,
                         **options)
