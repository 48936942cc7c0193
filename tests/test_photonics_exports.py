import qlatent.photonics as photonics


def test_every_export_resolves():
    for name in photonics.__all__:
        assert getattr(photonics, name) is not None, name


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = photonics.nope
