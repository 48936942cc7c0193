"""The argument checks every model configuration shares."""

import pytest

from qlatent.checks import adam_betas


def test_adam_betas_become_two_floats():
    assert adam_betas([0, 0.9]) == (0.0, 0.9) and isinstance(adam_betas((0, 0.9))[0], float)


@pytest.mark.parametrize("bad", [(0.5, 1.0), (0.5,), (-0.1, 0.9), 0.5, (0.5, 0.9, 0.99)])
def test_adam_betas_refuse_what_adam_cannot_take(bad):
    with pytest.raises(ValueError, match=r"betas must be two numbers in \[0, 1\)"):
        adam_betas(bad)


def test_every_adversarial_model_checks_its_betas_the_same_way():
    from qlatent.models.ddgan import DDGANConfig
    from qlatent.models.gan import WGANGPConfig
    from qlatent.models.molgan import MolGANConfig

    for config, required in ((WGANGPConfig, {"latent_dim": 2, "data_dim": 2}),
                             (MolGANConfig, {"latent_dim": 2, "n_atom_types": 5}),
                             (DDGANConfig, {"latent_dim": 2, "image_shape": (1, 8, 8)})):
        with pytest.raises(ValueError, match="betas must be two numbers"):
            config(**required, betas=0.5)
