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


@pytest.mark.slow
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


@pytest.mark.slow
def test_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "speedups.png"
    assert bench.main(["--only", "alias.build", "--quiet", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_matching_case_is_an_error():
    assert bench.main(["--only", "no-such-operation"]) == 2


@pytest.mark.slow
def test_busy_report_runs_and_its_loads_stop(tmp_path, capsys, monkeypatch):
    # --busy: default threads against one thread under each load.  Here with
    # the quick "idle" load and a tiny per-case budget; then a real compile
    # load starts its helper processes and stops them when the block ends.
    import subprocess

    from negsamp.bench import busy

    monkeypatch.setattr(busy, "_measure",
                        lambda fn, budget: fn(1) is not None and {"one": 1e-3, "default": 1e-3})
    out_json = tmp_path / "busy.json"
    assert bench.main(["--busy", "--loads", "idle", "--only", "topk", "--quiet",
                       "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "topk" in table and "idle: default / 1" in table
    data = json.loads(out_json.read_text())
    assert data["loads"] == ["idle"] and {r["operation"] for r in data["results"]} == {"topk"}
    if "compile" in busy.available_loads():
        started = []
        real = subprocess.Popen

        def spy(*a, **kw):
            p = real(*a, **kw)
            started.append(p)
            return p

        monkeypatch.setattr(busy.subprocess, "Popen", spy)
        with busy.load("compile", seconds=60):
            assert started and all(p.poll() is None for p in started)
        assert all(p.poll() is not None for p in started)
