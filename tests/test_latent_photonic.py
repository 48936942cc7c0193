"""The paper's latent family: definitions (centring, half filling, independent unitaries), banks, errors."""

import numpy as np
import pytest
import torch

from qlatent.latent.photonic import (
    LATENTS,
    PAPER_LATENTS,
    LatentSpec,
    PhotonSource,
    build_latent,
    check_latent_names,
    derived_seed,
    latent_seeds,
    parse_circuit,
    photon_counts,
)

SMALL = LatentSpec(size=4, bank_size=3000)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_counts_are_stored_and_replayed(tmp_path):
    source = PhotonSource(n_photons=2, n_modes=4, circuit_seed=3)
    counts, origin = photon_counts(source, "indistinguishable", 200, seed=1, store=tmp_path)
    again, _ = photon_counts(source, "indistinguishable", 200, seed=1, store=tmp_path)
    np.testing.assert_array_equal(counts, again)
    assert (counts.sum(axis=1) == 2).all()
    assert origin["interferometer"]["kind"] == "haar"
    assert len(list(tmp_path.glob("*.npz"))) == 1


def test_paper_latents_in_fig2_order_and_extras_available():
    assert PAPER_LATENTS == ("gaussian", "bernoulli", "distinguishable", "boson")
    assert set(PAPER_LATENTS) < set(LATENTS)
    assert {"partial", "independent-counts", "shuffled-counts", "uniform"} <= set(LATENTS)


def test_every_latent_has_the_size_and_its_name(tmp_path):
    for name in LATENTS:
        latent = build_latent(name, SMALL, seed=0, store=tmp_path)
        assert latent.sample(7, gen()).shape == (7, 4)
        assert latent.name == name


def test_half_filling_puts_size_over_two_photons_in(tmp_path):
    spec = LatentSpec(size=6, bank_size=500, centring="none")
    assert spec.photons == 3
    boson = build_latent("boson", spec, seed=1, store=tmp_path)
    np.testing.assert_array_equal(boson.bank.sum(axis=1), 3)
    explicit = LatentSpec(size=6, n_photons=2, bank_size=500, centring="none")
    assert build_latent("distinguishable", explicit, seed=1, store=tmp_path).bank.sum(axis=1).max() == 2


@pytest.mark.parametrize("name", ["boson", "distinguishable", "bernoulli"])
def test_default_centring_gives_mean_zero_and_no_rescaling(tmp_path, name):
    latent = build_latent(name, LatentSpec(size=4, bank_size=4000), seed=2, store=tmp_path)
    raw = build_latent(name, LatentSpec(size=4, bank_size=4000, centring="none"), seed=2, store=tmp_path)
    z, counts = latent.sample(20000, gen(5)).double(), raw.sample(20000, gen(5)).double()
    # Same rows, shifted by a per-mode constant only: the differences are constant per mode ...
    shift = counts - z
    assert torch.allclose(shift, shift[0].expand_as(shift))
    # ... equal to the mean of the whole bank (the Bernoulli mean is exactly 1/2) ...
    expected = np.full(4, 0.5) if name == "bernoulli" else raw.bank.mean(axis=0)
    np.testing.assert_allclose(shift[0].numpy(), expected, atol=1e-6)
    # ... and the standard deviation is left alone (no rescaling).
    torch.testing.assert_close(z.std(dim=0), counts.std(dim=0))


def test_release_centring_subtracts_one_half(tmp_path):
    half = build_latent("boson", LatentSpec(size=4, bank_size=500, centring="half"), seed=0, store=tmp_path)
    raw = build_latent("boson", LatentSpec(size=4, bank_size=500, centring="none"), seed=0, store=tmp_path)
    torch.testing.assert_close(half.sample(100, gen(1)), raw.sample(100, gen(1)) - 0.5)


def test_gaussian_is_standard_normal_and_bernoulli_uniform_bits(tmp_path):
    z = build_latent("gaussian", SMALL, seed=0).sample(40000, gen(2)).double()
    assert abs(z.mean()) < 5 / np.sqrt(z.numel()) and abs(z.var() - 1) < 5 * np.sqrt(2 / z.numel())
    bits = build_latent("bernoulli", LatentSpec(size=4, centring="none"), seed=0).sample(40000, gen(3))
    assert set(bits.unique().tolist()) == {0.0, 1.0}
    assert abs(bits.mean().item() - 0.5) < 5 * 0.5 / np.sqrt(bits.numel())


def test_boson_and_distinguishable_use_independent_unitaries_per_run(tmp_path):
    spec = LatentSpec(size=4, bank_size=200)
    boson = build_latent("boson", spec, seed=7, store=tmp_path)
    dist = build_latent("distinguishable", spec, seed=7, store=tmp_path)
    assert boson.source["interferometer"] != dist.source["interferometer"]
    # Re-drawn for every seed, reproducible for the same seed.
    other_seed = build_latent("boson", spec, seed=8, store=tmp_path)
    assert other_seed.source["interferometer"] != boson.source["interferometer"]
    assert build_latent("boson", spec, seed=7, store=tmp_path).sha256 == boson.sha256
    shared = LatentSpec(size=4, bank_size=200, shared_circuit=True)
    one = build_latent("boson", shared, seed=7, store=tmp_path).source["interferometer"]
    assert build_latent("distinguishable", shared, seed=7, store=tmp_path).source["interferometer"] == one


def test_seeds_are_distinct_per_role_and_stable():
    circuits = {latent_seeds(name, SMALL, 0)[0] for name in ("boson", "distinguishable", "partial")}
    assert len(circuits) == 3
    assert latent_seeds("independent-counts", SMALL, 0) == latent_seeds("boson", SMALL, 0)
    assert (derived_seed(3, "data", "circuit") == derived_seed(3, "data", "circuit")
            != derived_seed(4, "data", "circuit"))


def test_boson_bunches_more_than_distinguishable_at_table1_size(tmp_path):
    # 8 photons in 16 modes: bosons bunch (mean per-mode Fano factor > 1), distinguishable photons
    # anti-bunch (multinomial: < 1). Bounds far outside the sampling error of 20,000 rows.
    spec = LatentSpec(size=16, bank_size=20000, centring="none")
    fano = {}
    for name in ("boson", "distinguishable"):
        bank = build_latent(name, spec, seed=0, store=tmp_path).bank
        fano[name] = float((bank.var(axis=0) / bank.mean(axis=0)).mean())
    assert fano["boson"] > 1.1 and fano["distinguishable"] < 0.95


def test_loop_circuits_and_input_patterns(tmp_path):
    assert parse_circuit("haar") == () and parse_circuit("1-3-9") == (1, 3, 9)
    spec = LatentSpec(size=16, circuit="1-3-9", input_pattern="alternate", bank_size=100, centring="none")
    latent = build_latent("boson", spec, seed=0, store=tmp_path)
    assert latent.source["interferometer"]["kind"] == "timebin"
    assert latent.source["interferometer"]["parameters"]["loop_lengths"] == [1, 3, 9]
    assert spec.source(0).input_state() == (1, 0) * 8
    np.testing.assert_array_equal(latent.bank.sum(axis=1), 8)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"size": 15}, "size=15 is odd: half filling"),
        ({"size": 0}, "size must be a positive integer"),
        ({"bank_size": -1}, "bank_size must be a positive integer"),
        ({"size": 4, "n_photons": 5}, "n_photons=5 exceeds n_modes=4"),
        ({"size": 8, "circuit": "1-3-9"}, "circuit '1-3-9' has a loop of 9 time bins"),
        ({"circuit": "loops"}, "circuit must be 'haar' or a time-bin loop layout"),
        ({"circuit": "1--3"}, "circuit must be 'haar' or a time-bin loop layout"),
        ({"centring": "median"}, "centring must be one of mean, half, none"),
        ({"input_pattern": "random"}, "input_pattern must be one of first, alternate"),
        ({"size": 4, "n_photons": 3, "input_pattern": "alternate"}, "needs 5 modes"),
        ({"indistinguishability": 2.0}, "indistinguishability must be in"),
    ],
)
def test_bad_specs(arguments, message):
    with pytest.raises(ValueError, match=message):
        LatentSpec(**arguments)


def test_unknown_latents(tmp_path):
    with pytest.raises(ValueError, match="unknown latent.*'cauchy'; choose from gaussian, bernoulli"):
        build_latent("cauchy", SMALL, 0, store=tmp_path)
    with pytest.raises(ValueError, match=r"unknown latent\(s\) 'laplace'"):
        check_latent_names(["gaussian", "laplace"])
    with pytest.raises(TypeError, match="list of names"):
        check_latent_names("boson")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        build_latent("boson", SMALL, -1, store=tmp_path)
