"""What carries Table I's gain: variants, dials, tables, reuse of Table I's runs and verdicts."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from qlatent.experiments import mechanism
from qlatent.experiments.discrete import DiscreteConfig
from qlatent.latent.photonic import latent_seeds
from qlatent.photonics.probabilities import output_probabilities

pytestmark = pytest.mark.usefixtures("torch_one_thread")

TINY = DiscreteConfig(size=6, n_train=400, n_reference=300, bank_size=20_000, hidden=(16,), n_steps=2, batch_size=50,
                      eval_samples=300, curve_samples=100, log_every=2)
#: Probability that a correct sampler fails a TVD bound below (McDiarmid's inequality).
DELTA = 1e-6


def tvd_bound(probabilities, n_samples):
    """Bound on the TVD of ``n_samples`` draws to their own law, exceeded with probability at most ``DELTA``.

    ``E TVD <= ½ Σ sqrt(p (1 - p) / N)`` (Jensen per pattern), and one draw moves the TVD by at most
    ``1/N``, so McDiarmid adds ``sqrt(ln(1/δ) / 2N)``.
    """
    p = np.asarray(probabilities)
    return 0.5 * np.sum(np.sqrt(p * (1 - p) / n_samples)) + math.sqrt(math.log(1 / DELTA) / (2 * n_samples))


def empirical_tvd(counts, patterns, probabilities):
    index = {tuple(row): k for k, row in enumerate(patterns)}
    frequencies = np.zeros(len(patterns))
    for row in counts.astype(np.int64):
        frequencies[index[tuple(row)]] += 1
    return 0.5 * np.abs(frequencies / len(counts) - probabilities).sum()


@pytest.mark.parametrize(("x", "model", "other"), [(1.0, "indistinguishable", "distinguishable"),
                                                    (0.0, "distinguishable", "indistinguishable")])
def test_indistinguishability_dial_ends_are_the_boson_and_distinguishable_laws(tmp_path, x, model, other):
    spec = TINY.latent_spec()
    source = spec.source(latent_seeds("boson", spec, 0)[0])
    unitary = source.interferometer().unitary
    latent = mechanism.build_variant(mechanism.dial_name("indistinguishability", x), TINY, 0, tmp_path)
    counts = latent.bank
    patterns, expected = output_probabilities(unitary, source.input_state(), model=model)
    bound = tvd_bound(expected, len(counts))
    assert empirical_tvd(counts, patterns, expected) < bound
    _, wrong = output_probabilities(unitary, source.input_state(), model=other)
    assert empirical_tvd(counts, patterns, wrong) > bound  # the check can tell the two laws apart


def test_full_indistinguishability_reproduces_the_boson_latent_bank(tmp_path):
    spec = TINY.latent_spec()
    source = spec.source(latent_seeds("boson", spec, 0)[0])
    patterns, expected = output_probabilities(source.interferometer().unitary, source.input_state())
    dial = mechanism.build_variant("indistinguishability-1", TINY, 0, tmp_path).bank
    boson = mechanism.build_variant("boson", TINY, 0, tmp_path).bank
    assert not np.array_equal(dial, boson)  # its own draws of the same law
    frequencies = [np.array([np.sum(np.all(bank == row, axis=1)) for row in patterns]) / len(bank)
                   for bank in (dial, boson)]
    # Two samples of N rows: E|p̂ - q̂| <= sqrt(2 p (1 - p) / N) per pattern, and each of the 2N rows moves
    # the TVD by at most 1/N, so McDiarmid adds sqrt(ln(1/δ) / N).
    n = len(dial)
    bound = 0.5 * np.sum(np.sqrt(2 * expected * (1 - expected) / n)) + math.sqrt(math.log(1 / DELTA) / n)
    assert 0.5 * np.abs(frequencies[0] - frequencies[1]).sum() < bound


def test_transmission_dial_loses_photons_on_the_boson_interferometer(tmp_path):
    latent = mechanism.build_variant("transmission-0.5", TINY, 0, tmp_path)
    totals = latent.bank.sum(axis=1)
    # Each of 3 photons survives with probability 1/2: total ~ Binomial(3, 1/2), mean 1.5, variance 0.75.
    assert abs(totals.mean() - 1.5) < 5 * math.sqrt(0.75 / len(totals))
    assert latent.source["interferometer"] == TINY.latent_spec().source(
        latent_seeds("boson", TINY.latent_spec(), 0)[0]).interferometer().to_dict()


def test_shuffled_variant_keeps_the_boson_marginals_exactly_and_loses_correlations(tmp_path):
    boson = mechanism.build_variant("boson", TINY, 0, tmp_path).bank
    shuffled = mechanism.build_variant("shuffled-counts", TINY, 0, tmp_path).bank
    for mode in range(TINY.size):
        assert np.array_equal(np.sort(shuffled[:, mode]), np.sort(boson[:, mode]))
    from scipy import stats

    corr = np.corrcoef(shuffled, rowvar=False)[np.triu_indices(TINY.size, 1)]
    assert np.all(np.abs(corr) < stats.norm.isf(1e-4 / (2 * corr.size)) / math.sqrt(len(shuffled)))
    assert np.abs(np.corrcoef(boson, rowvar=False)[np.triu_indices(TINY.size, 1)]).max() > 0.05


SIXTEEN = DiscreteConfig(size=16, n_train=400, n_reference=300, bank_size=2000, hidden=(16,), n_steps=2,
                         batch_size=50, eval_samples=300, curve_samples=100, log_every=2)


def test_every_variant_builds_centred_at_the_table1_size(tmp_path):
    import torch

    variants = [*mechanism.TABLE1_LATENTS, *mechanism.CHALLENGERS, "indistinguishability-0.5", "transmission-0.8"]
    for name in variants:
        latent = mechanism.build_variant(name, SIXTEEN, 1, tmp_path)
        assert latent.name == name and latent.dim == 16
        draws = latent.sample(4000, torch.Generator().manual_seed(0)).numpy()
        assert np.abs(draws.mean(axis=0)).max() < 0.1, name  # centred like Table I's latents
        counts = mechanism.latent_counts(latent, 300, 0)
        assert counts.shape == (300, 16) and counts.min() >= 0


def test_every_variant_declares_the_banks_it_asks_the_store_for(tmp_path):
    """train_variant's bank_requests hook lists exactly the banks build_variant samples, so a sweep
    sizes them against the sampling limits before any run starts."""
    from qlatent.qpu import SampleStore

    variants = [*mechanism.TABLE1_LATENTS, *mechanism.CHALLENGERS, "indistinguishability-0.5", "transmission-0.8"]
    for name in variants:
        store = SampleStore(tmp_path / name)
        mechanism.build_variant(name, SIXTEEN, 1, store)
        requests = mechanism.train_variant.bank_requests(dataset="hepmass", latent=name, seed=1, config=SIXTEEN,
                                                         runs_dir=tmp_path, store=store)
        assert {request.request_id() for request in requests if request is not None} == set(store.ids()), name
    with pytest.raises(ValueError, match="unknown variant"):
        mechanism.train_variant.bank_requests(dataset="hepmass", latent="bogus", seed=1, config=TINY)


def test_statistics_and_costs_tables(tmp_path):
    variants = ["boson", "dirichlet-multinomial-haar", "indistinguishability-0.5"]
    table = mechanism.variant_statistics(SIXTEEN, [0], variants, 300, store=tmp_path)
    assert set(table["metric"]) == {"fano_factor", "pair_covariance_norm", "third_cumulant_norm",
                                    "pattern_entropy", "data_tvd"}
    assert len(table) == 3 * 5 and table["value"].notna().all()
    timed = [*variants, "gaussian-copula", "negative-binomial", "shuffled-counts"]
    costs = mechanism.sampling_costs(SIXTEEN, timed, 50, store=tmp_path)
    assert list(costs["latent"]) == timed
    assert (costs["microseconds_per_sample"] > 0).all() and costs["scaling"].str.len().gt(0).all()


def test_runs_reuse_table1_rows_and_train_the_rest(tmp_path):
    reused = pd.DataFrame({"dataset": "quantum", "latent": "boson", "seed": [0, 5], "metric": "l1_integer",
                           "value": [0.1, 0.2]})
    results = mechanism.run_mechanism(TINY, {"quantum": [0]}, {"quantum": ["boson", "dirichlet-multinomial"]},
                                      tmp_path / "runs", store=tmp_path / "samples", reused=reused, progress=False)
    runs = results.runs
    assert set(runs[runs["latent"] == "boson"]["value"]) == {0.1}  # reused, seed 5 not asked for
    assert set(runs[runs["latent"] == "dirichlet-multinomial"]["metric"]) >= {"l1_integer", "marginal_tvd"}
    assert len(list((tmp_path / "runs").iterdir())) == 1


def test_table1_runs_are_reused_only_with_the_same_training():
    runs = pd.DataFrame({"dataset": "quantum", "latent": ["boson", "gaussian"], "seed": 0, "metric": "l1_integer",
                         "value": [0.1, 0.2]})
    parameters = {key: value for key, value in TINY.to_dict().items() if key in mechanism.REUSE_KEYS}
    recording = SimpleNamespace(manifest={"parameters": parameters}, tables={"runs": runs})
    assert list(mechanism.reusable_table1_runs(recording, TINY)["latent"]) == ["boson"]
    recording.manifest["parameters"]["n_steps"] = 3
    assert mechanism.reusable_table1_runs(recording, TINY).empty
    assert mechanism.reusable_table1_runs(None, TINY).empty


def synthetic_runs(gaps, n_seeds=6, seed=0):
    rng = np.random.default_rng(seed)
    base = 0.09 + 0.003 * rng.standard_normal(n_seeds)
    rows = [{"dataset": "quantum", "latent": latent, "seed": s, "metric": "l1_integer",
             "value": base[s] + gap + 0.0005 * rng.standard_normal()}
            for latent, gap in gaps.items() for s in range(n_seeds)]
    return pd.DataFrame(rows)


def test_verdicts_use_the_table1_gap_as_the_effect_that_matters():
    runs = synthetic_runs({"boson": 0.0, "distinguishable": 0.013, "dirichlet-multinomial": 0.0,
                           "gaussian-copula": 0.01, "negative-binomial": -0.01})
    verdicts = mechanism.mechanism_verdicts(runs, "l1_integer").set_index("latent")
    assert verdicts.loc["distinguishable", "verdict"] == "worse than boson"
    assert verdicts.loc["dirichlet-multinomial", "verdict"] == "as good as boson"
    assert verdicts.loc["gaussian-copula", "verdict"] == "worse than boson"
    assert verdicts.loc["negative-binomial", "verdict"] == "better than boson"
    assert verdicts["sentence"].str.startswith("**").all()
    few = mechanism.mechanism_verdicts(synthetic_runs({"boson": 0, "distinguishable": 0.013, "shuffled-counts": 0},
                                                      n_seeds=3), "l1_integer").set_index("latent")
    assert few.loc["shuffled-counts", "verdict"] == "inconclusive"  # too few seeds for the power rule
    one = mechanism.mechanism_verdicts(synthetic_runs({"boson": 0, "distinguishable": 0.013}, n_seeds=1),
                                       "l1_integer")
    assert one["sentence"].iloc[0].endswith("too few for a test.")
    with pytest.raises(ValueError, match="no 'l1_integer' runs of 'distinguishable'"):
        mechanism.mechanism_verdicts(synthetic_runs({"boson": 0.0}), "l1_integer")


def test_dial_trend_ranks_the_metric_against_the_setting():
    runs = synthetic_runs({"distinguishable": 0.013, "indistinguishability-0.5": 0.006, "boson": 0.0})
    trend = mechanism.dial_trend(runs, "l1_integer", "indistinguishability")
    assert trend["rho"] < -0.8 and trend["p_value"] < 0.01 and trend["n_runs"] == 18
    assert math.isnan(mechanism.dial_trend(runs, "l1_integer", "transmission")["rho"])


@pytest.mark.parametrize(("names", "error", "message"), [
    (["boson", "laplace"], ValueError, r"unknown variant\(s\) 'laplace'"),
    (["indistinguishability-1.5"], ValueError, "value in \\[0, 1\\]"),
    (["transmission-0"], ValueError, "transmission 0 sends no photons"),
    ("boson", TypeError, "list of names"),
])
def test_bad_variants_are_refused_before_work(names, error, message):
    with pytest.raises(error, match=message):
        mechanism.check_variants(names)


def test_metric_against_statistics_and_their_rank_correlation():
    runs = synthetic_runs({"boson": 0.0, "distinguishable": 0.013, "dirichlet-multinomial": 0.002,
                           "shuffled-counts": 0.008})
    fano = {"boson": 1.29, "distinguishable": 0.88, "dirichlet-multinomial": 1.28, "shuffled-counts": 1.1}
    statistics = pd.DataFrame([{"dataset": "quantum", "latent": latent, "seed": 0, "metric": "fano_factor",
                                "value": value} for latent, value in fano.items()]
                              + [{"dataset": "quantum", "latent": "gaussian", "seed": 0, "metric": "fano_factor",
                                  "value": 1.0}])
    table = mechanism.metric_against_statistics(runs, statistics, "l1_integer")
    assert set(table["latent"]) == set(fano)  # gaussian has no run: left out
    correlations = mechanism.statistic_correlations(table).set_index("statistic")
    assert correlations.loc["fano_factor", "rho"] == pytest.approx(-1.0)
    assert correlations.loc["fano_factor", "n_latents"] == 4


def test_bottom_line_answers_from_the_verdicts():
    runs = synthetic_runs({"boson": 0.0, "distinguishable": 0.013, "dirichlet-multinomial": 0.0,
                           "indistinguishability-0.5": 0.006, "gaussian-copula": 0.01})
    verdicts = mechanism.mechanism_verdicts(runs, "l1_integer")
    trend = mechanism.dial_trend(runs, "l1_integer", "indistinguishability")
    line = mechanism.bottom_line(verdicts, trend)
    assert line.startswith("Performance tracks indistinguishability")
    assert "`dirichlet-multinomial`" in line and "Classical latents do as well" in line
    none = mechanism.bottom_line(verdicts[verdicts["latent"] != "dirichlet-multinomial"], {"rho": math.nan})
    assert "No classical challenger" in none and "`gaussian-copula`" in none


def test_dial_points_place_table1_latents_at_the_dial_ends():
    runs = synthetic_runs({"distinguishable": 0.013, "indistinguishability-0.5": 0.006, "boson": 0.0,
                           "transmission-0.8": 0.004, "gaussian-copula": 0.01}, n_seeds=2)
    points = mechanism.dial_points(runs, "l1_integer")
    settings = points.groupby("dial")["setting"].apply(lambda s: sorted(set(s))).to_dict()
    assert settings == {"indistinguishability": [0.0, 0.5, 1.0], "transmission": [0.8, 1.0]}
    assert len(points) == 2 * (3 + 2)


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(ValueError, match="needs seeds and variants"):
        mechanism.run_mechanism(TINY, {"quantum": [0]}, {}, tmp_path / "runs")
    boson = mechanism.build_variant("boson", TINY, 0, tmp_path)
    with pytest.raises(ValueError, match="fewer than 30000"):
        mechanism.latent_counts(boson, 30_000, 0)
    from qlatent.latent.classical import GaussianLatent

    with pytest.raises(TypeError, match="no count law"):
        mechanism.latent_counts(GaussianLatent(6), 10, 0)
