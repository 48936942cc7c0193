"""Converters from the forms devices return (pattern tables, Perceval results, CSVs) to shot rows."""

from __future__ import annotations

import numpy as np
import pytest

from qlatent.qpu.convert import parse_pattern, shots_from_csv, shots_from_pattern_counts, shots_from_perceval
from qlatent.qpu.shots import read_shots_file, write_shots_file


@pytest.mark.parametrize(("pattern", "expected"), [
    ((1, 0, 2), (1, 0, 2)), ([0, 3], (0, 3)), ("1,0,2", (1, 0, 2)), ("|1,0,2>", (1, 0, 2)),
    ("1 0 2", (1, 0, 2)), (" | 12 , 0 > ", (12, 0)), (np.array([2, 1]), (2, 1)), ("5", (5,)),
])
def test_patterns_in_every_common_spelling(pattern, expected):
    assert parse_pattern(pattern) == expected


@pytest.mark.parametrize(("pattern", "message"), [
    ("101", "separate the modes' counts with commas or spaces"),
    ("1,-1", "expected non-negative integers per mode"),
    ("1,x", "expected non-negative integers per mode"),
    ((1, 0.5), "expected non-negative integers per mode"),
    ((True, 0), "expected non-negative integers per mode"),
    ("|>", "no modes"),
    (3, "neither a sequence of counts nor a string"),
])
def test_bad_patterns(pattern, message):
    with pytest.raises(ValueError, match=message):
        parse_pattern(pattern)


def test_a_table_expands_to_every_shot_in_a_seeded_shuffled_order():
    table = {(1, 0): 3, "0,1": 2, "|2,0>": 0}
    shots = shots_from_pattern_counts(table, seed=4)
    assert shots.shape == (5, 2) and shots.dtype == np.int64
    rows, counts = np.unique(shots, axis=0, return_counts=True)
    assert dict(zip(map(tuple, rows.tolist()), counts.tolist())) == {(0, 1): 2, (1, 0): 3}
    np.testing.assert_array_equal(shots, shots_from_pattern_counts(table, seed=4))
    # not grouped by pattern: the first shots of a large table are a fair sample of it
    big = shots_from_pattern_counts({(1, 0): 5000, (0, 1): 5000}, seed=0)
    assert 0.45 < big[:1000, 0].mean() < 0.55


@pytest.mark.parametrize(("table", "message"), [
    ({}, "no shots: the table is empty or every count is 0"),
    ({(1, 0): 0}, "no shots"),
    ({(1, 0): -2}, r"pattern \(1, 0\): negative count -2"),
    ({(1, 0): 0.25}, "is not an integer number of shots \\(probabilities are not counts\\)"),
    ({(1, 0): True}, "is not an integer number of shots"),
    ({(1, 0): 1, (1, 0, 0): 1}, r"pattern \(1, 0, 0\) has 3 modes, but \(1, 0\) has 2"),
])
def test_bad_tables(table, message):
    with pytest.raises(ValueError, match=message):
        shots_from_pattern_counts(table, seed=0)


def test_perceval_results_convert():
    pcvl = pytest.importorskip("perceval")
    count = pcvl.BSCount()
    count[pcvl.BasicState([1, 0, 1])] = 2
    count[pcvl.BasicState([0, 2, 0])] = 1
    for result in (count, {"results": count, "physical_perf": 1.0}):
        shots = shots_from_perceval(result, seed=1)
        assert sorted(map(tuple, shots.tolist())) == [(0, 2, 0), (1, 0, 1), (1, 0, 1)]
    distribution = pcvl.BSDistribution()
    distribution[pcvl.BasicState([1, 0])] = 0.5
    distribution[pcvl.BasicState([0, 1])] = 0.5
    with pytest.raises(ValueError, match="probabilities are not counts"):
        shots_from_perceval(distribution, seed=0)
    with pytest.raises(ValueError, match="expected a Perceval BSCount or a sample_count\\(\\) result, got list"):
        shots_from_perceval([1, 2], seed=0)


def test_a_csv_of_shots_keeps_its_order_and_a_csv_of_counts_expands(tmp_path):
    one_per_shot = tmp_path / "shots.csv"
    one_per_shot.write_text('# from the lab\npattern\n"1,0,1"\n"|0,2,0>"\n\n"0,0,2"\n')
    np.testing.assert_array_equal(shots_from_csv(one_per_shot), [[1, 0, 1], [0, 2, 0], [0, 0, 2]])
    table = tmp_path / "table.csv"
    table.write_text('pattern,count\n"1,0,1",3\n"0,2,0",1\n')
    shots = shots_from_csv(table, seed=0)
    assert shots.shape == (4, 3) and (shots == [1, 0, 1]).all(axis=1).sum() == 3


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("modes\n1\n", {}, r"needs a header row with a 'pattern' column, got \['modes'\]"),
    ("pattern\n", {}, "no patterns"),
    ('pattern\n"1,0"\n"1,0,0"\n', {}, r"patterns of different lengths \[2, 3\]"),
    ('pattern\n"1,x"\n', {}, "pattern row 1: pattern '1,x': expected non-negative integers"),
    ('pattern,count\n"1,0",2\n', {}, "has a 'count' column; pass seed= to order the expanded shots"),
    ('pattern,count\n"1,0",two\n', {"seed": 0}, "pattern row 1: count 'two' is not a non-negative integer"),
    ('pattern,count\n"1,0",1\n"1,0,0",1\n', {"seed": 0}, r"has 3 modes, but \(1, 0\) has 2"),
])
def test_bad_csvs_name_the_file(tmp_path, text, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        shots_from_csv(path, **kwargs)
    assert str(path) in str(error.value)


def test_a_missing_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match="patterns file .*absent.csv does not exist"):
        shots_from_csv(tmp_path / "absent.csv")


def test_converted_shots_write_a_shots_file_that_reads_back(tmp_path):
    shots = shots_from_pattern_counts({"|1,1,0,0>": 7, "|2,0,0,0>": 3, "|0,0,1,1>": 5}, seed=3)
    path = write_shots_file(tmp_path / "lab", shots, input_state=[1, 1, 0, 0], detection="pnr",
                            circuit={"kind": "timebin", "loop_lengths": [1], "thetas": [0.3, 0.2, 0.1]},
                            device="lab bench")
    np.testing.assert_array_equal(read_shots_file(path).counts, shots)
