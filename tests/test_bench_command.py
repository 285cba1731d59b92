"""`python -m negsamp.bench`: the report command runs and writes its files.
(No timing assertions: only that every case runs and reports numbers.)"""
import json

import pytest

from negsamp import bench


def test_every_default_case_is_well_formed():
    cases = bench.collect_cases(full=False)
    operations = {c.operation.split()[0] for c in cases}
    for op in ("alias.sample", "alias.build", "negative.sample", "corrupt_triples",
               "negative_edges", "mining.hard_negatives", "mining.topk",
               "reservoir.update", "weighted_reservoir.update"):
        assert op in operations
    for case in cases:
        assert case.items > 0 and case.sizes and callable(case.make)
    keyed = {c.operation for c in cases if "keyed" in c.operation}
    assert {"negative.sample keyed uniform", "negative.sample keyed counts^0.75",
            "corrupt_triples keyed"} <= keyed
    assert all(c.baseline_name == "unkeyed" for c in cases if "keyed" in c.operation)


def test_report_runs_and_writes_json_and_markdown(tmp_path, capsys):
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    assert bench.main(["--only", "alias.build", "--quiet", "--json", str(out_json),
                       "--markdown", str(out_md)]) == 0
    table = capsys.readouterr().out
    assert "alias.build" in table and "speed-up" in table
    data = json.loads(out_json.read_text())
    (result,) = data["results"]
    assert result["speedup"] > 0 and result["ns_per_item"]["negsamp"] > 0
    assert "| alias.build |" in out_md.read_text()


def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "speedups.png"
    assert bench.main(["--only", "alias.build", "--quiet", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_matching_case_is_an_error():
    assert bench.main(["--only", "no-such-operation"]) == 2
