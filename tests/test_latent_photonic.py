"""Photon-count latents: one source, every latent of the paper's family, stored banks."""

import numpy as np
import pytest
import torch

from qlatent.latent import CountPostprocess
from qlatent.latent.photonic import LATENT_NAMES, PhotonSource, check_latent_names, make_latent, photon_counts

SOURCE = PhotonSource(n_photons=2, n_modes=4, interferometer_seed=3)


def test_counts_are_stored_and_replayed(tmp_path):
    counts, origin = photon_counts(SOURCE, "indistinguishable", 200, seed=1, store=tmp_path)
    again, _ = photon_counts(SOURCE, "indistinguishable", 200, seed=1, store=tmp_path)
    np.testing.assert_array_equal(counts, again)
    assert (counts.sum(axis=1) == 2).all()
    assert origin["interferometer"]["kind"] == "haar"
    assert len(list(tmp_path.glob("*.npz"))) == 1


def test_every_latent_has_the_mode_dimension(tmp_path):
    for name in LATENT_NAMES:
        latent = make_latent(name, SOURCE, 100, bank_seed=0, postprocess=CountPostprocess(), store=tmp_path)
        assert latent.sample(7, torch.Generator().manual_seed(0)).shape == (7, 4)
        assert latent.name == name


def test_boson_latents_share_the_interferometer(tmp_path):
    banks = [make_latent(name, SOURCE, 100, 0, store=tmp_path) for name in LATENT_NAMES[:3]]
    assert len({str(bank.source["interferometer"]) for bank in banks}) == 1
    assert len({bank.source["sample_set"] for bank in banks}) == 3


def test_distinguishable_bank_bunches_less(tmp_path):
    indist, _ = photon_counts(SOURCE, "indistinguishable", 4000, seed=2, store=tmp_path)
    dist, _ = photon_counts(SOURCE, "distinguishable", 4000, seed=2, store=tmp_path)
    # Two photons: the bunching probability of indistinguishable photons exceeds the classical one
    # in any interferometer (HOM-type enhancement, factor 2 per output mode); compare with a margin.
    assert (indist.max(axis=1) >= 2).mean() > (dist.max(axis=1) >= 2).mean()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(n_photons=5, n_modes=4, interferometer_seed=0), "n_photons=5 exceeds n_modes=4"),
        (dict(n_photons=0, n_modes=4, interferometer_seed=0), "n_photons must be a positive integer"),
        (dict(n_photons=1, n_modes=4, interferometer_seed=0, indistinguishability=2.0), "indistinguishability must be in"),
    ],
)
def test_bad_sources(arguments, message):
    with pytest.raises(ValueError, match=message):
        PhotonSource(**arguments)


def test_unknown_latents(tmp_path):
    with pytest.raises(ValueError, match="unknown latent 'cauchy'"):
        make_latent("cauchy", SOURCE, 10, 0, store=tmp_path)
    with pytest.raises(ValueError, match=r"unknown latent\(s\) laplace; choose from boson-indistinguishable"):
        check_latent_names(["gaussian", "laplace"])
