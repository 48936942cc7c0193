import pandas as pd
import pytest

from qlatent.paper import beside_reported, reported


def test_reported_tables_have_their_columns():
    for experiment in ("synthetic_gan", "qm9_molgan", "molgan_original"):
        assert list(reported(experiment).columns) == ["latent", "metric", "value", "source"]
    assert reported("molgan_original")["value"].between(0, 1).all()


def test_unknown_experiment():
    with pytest.raises(KeyError, match="no entry 'nope'"):
        reported("nope")


def test_beside_reported_keeps_ours_and_adds_theirs():
    ours = pd.DataFrame({"latent": ["gaussian", "boson"], "metric": ["validity_connected"] * 2, "mean": [90.0, 95.0]})
    merged = beside_reported(ours, "molgan_original", label="MolGAN paper")
    assert merged.loc[merged["latent"] == "gaussian", "MolGAN paper"].item() == 0.981
    assert merged.loc[merged["latent"] == "boson", "MolGAN paper"].isna().item()
    assert len(merged) == 2
