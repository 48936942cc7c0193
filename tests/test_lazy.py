import subprocess
import sys

import pytest

from qlatent.lazy import lazy_exports


def test_packages_import_their_heavy_parts_only_on_use():
    code = ("import sys, qlatent.models, qlatent.training, qlatent.photonics; "
            "print('torch' in sys.modules, 'numba' in sys.modules); qlatent.training.TensorBank; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True"]


def test_lazy_exports_resolve_list_and_refuse():
    getattr_, dir_ = lazy_exports("qlatent.paths", {"dumps": "json"})
    import json

    assert getattr_("dumps") is json.dumps
    assert "dumps" in dir_() and "project_root" in dir_()
    with pytest.raises(AttributeError, match="module 'qlatent.paths' has no attribute 'nope'"):
        getattr_("nope")
