"""Tests of the sampling law as one object (negsamp._law.SamplingLaw), of
its sharing between Python threads, and of the package's layering rule: no
module of negsamp imports another module's private (underscore) names."""
from __future__ import annotations

import ast
import pathlib
import pickle
import re
import threading

import numpy as np
import pytest

import negsamp
from negsamp._excluding import build_law, draw, sample_excluding
from negsamp._exclusion import as_exclusion_lists
from negsamp._law import SamplingLaw
from negsamp.negative import NegativeSampler

PACKAGE = pathlib.Path(negsamp.__file__).resolve().parent


def _positives(n, n_rows, gen):
    """Rows of every kind: empty, short (Bloom filter), long, excluding
    most items (complement table), and holding most of the mass."""
    sizes = [0, 1, 5, 60, 200, n - 10, n // 2 + 1]
    rows = [gen.choice(n, s, replace=False) for s in sizes]
    rows += [gen.choice(n, int(gen.integers(0, 40)), replace=False)
             for _ in range(n_rows - len(rows))]
    rows.append(np.arange(12))  # the heaviest items of a Zipf law
    return rows


# ------------------------------------------------------------- threads
def _calls(s, n_rows):
    """A mix of the sampler's calls, each with its own seed."""
    gen = np.random.default_rng(4)
    rows = gen.integers(0, n_rows, 2500)
    keys = gen.choice(2**62, rows.shape[0], replace=False)
    return [
        lambda: s.sample(rows, 9, rng=1),
        lambda: s.sample(rows, 6, rng=2, replace=False),
        lambda: s.sample(rows, 9, rng=3, keys=keys)[:, ::-1].copy(),
        lambda: np.concatenate(s.sample(rows, 4, rng=4, return_log_q=True), axis=1),
        lambda: s.sample(rows, 5, rng=5, replace=False, keys=keys, n_threads=1),
    ]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("unpickled", [False, True])
def test_python_threads_share_one_fresh_sampler(weighted, unpickled):
    """Threads released together on a sampler that has never drawn (its law
    was built at construction, or rebuilt by unpickling) all get the
    results of one thread calling alone, whatever the order of the calls."""
    n = 3000
    gen = np.random.default_rng(2)
    pos = _positives(n, 300, gen)
    w = 1.0 / np.arange(1, n + 1) if weighted else None

    def fresh():
        s = NegativeSampler(n, weights=w, power=0.75, positives=pos)
        return pickle.loads(pickle.dumps(s)) if unpickled else s

    reference = fresh()
    expected = [call() for call in _calls(reference, len(pos))]
    shared = fresh()
    calls = _calls(shared, len(pos))
    n_workers = 8
    barrier = threading.Barrier(n_workers)
    results = [[None] * len(calls) for _ in range(n_workers)]
    errors = []

    def work(t):
        try:
            barrier.wait()
            for j in range(len(calls)):
                i = (j + t) % len(calls)  # each thread starts with another call
                results[t][i] = calls[i]()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(n_workers)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    for t in range(n_workers):
        for got, want in zip(results[t], expected):
            np.testing.assert_array_equal(got, want)


def test_python_threads_share_one_fresh_alias_table():
    """A shared table whose law (AliasTable.probabilities) is built on first
    use, under its own lock, by whichever thread draws first: every thread's
    law built from it gives the same draws as a table built alone."""
    n = 2000
    w = 1.0 / np.arange(1, n + 1) ** 1.1
    gen = np.random.default_rng(7)
    ex = as_exclusion_lists(_positives(n, 50, gen), n)
    rows = gen.integers(0, ex.n_rows, 3000)
    want = sample_excluding(negsamp.AliasTable(w), ex, rows, 7, 3)
    table = negsamp.AliasTable(w)
    n_workers = 6
    barrier = threading.Barrier(n_workers)
    results = [None] * n_workers

    def work(t):
        barrier.wait()
        results[t] = sample_excluding(table, ex, rows, 7, 3, n_threads=1 + t % 2)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(n_workers)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for got in results:
        np.testing.assert_array_equal(got, want)


# ------------------------------------------------------ the law object
def test_law_owns_read_only_arrays_and_is_not_pickled():
    n = 500
    gen = np.random.default_rng(0)
    ex = as_exclusion_lists(_positives(n, 20, gen), n)
    table = negsamp.AliasTable(np.arange(1.0, n + 1))
    law = build_law(table, ex, n_threads=1, row_tables=True)
    assert law.weighted and law.n_items == n and law.n_rows == ex.n_rows
    assert law.n_nonzero == n and law.total == pytest.approx(1.0)
    assert law.comp_ptr is not None and not law.comp_ptr.flags.writeable
    assert law.comp_ptr[-1] > 0
    uniform = build_law(n, ex, n_threads=1)
    assert not uniform.weighted and uniform.comp_ptr is None
    np.testing.assert_array_equal(uniform.eligible(np.arange(ex.n_rows)),
                                  n - np.diff(ex.indptr))
    with pytest.raises(TypeError, match=r"cannot pickle 'negsamp\._law\.SamplingLaw' object"):
        pickle.dumps(law)


def test_law_draws_equal_the_sampler_draws():
    n = 800
    gen = np.random.default_rng(5)
    pos = _positives(n, 40, gen)
    w = gen.random(n)
    s = NegativeSampler(n, weights=w, positives=pos)
    law = build_law(s.table, s.positives, n_threads=2, row_tables=True)
    rows = gen.integers(0, len(pos), 1000)
    for replace in (True, False):
        np.testing.assert_array_equal(
            draw(law, rows, 5, 9, replace=replace), s.sample(rows, 5, rng=9, replace=replace))


def test_law_checks_its_buffers():
    indptr = np.array([0, 2, 3], dtype=np.int64)
    indices = np.array([0, 4, 1], dtype=np.int64)
    law = SamplingLaw(5, indptr, indices)
    with pytest.raises(ValueError, match=r"rows must be in \[0, 2\), got 2"):
        law.sample(np.array([0, 2], dtype=np.int64), 3, True, 1, 2, 1)
    with pytest.raises(ValueError, match="keys must have len"):
        law.sample(np.array([0, 1], dtype=np.int64), 3, True, 1, 2, 1,
                   keys=np.array([1], dtype=np.int64))
    with pytest.raises(ValueError, match="tmpl must be"):
        law.sample_tuples(np.array([0], dtype=np.int64), 3, True, 1, 2, 1,
                          np.zeros((1, 3), dtype=np.int64), 3)
    with pytest.raises(ValueError, match="indptr must start at 0"):
        SamplingLaw(5, np.array([0, 4], dtype=np.int64), indices)
    with pytest.raises(ValueError, match="n_items must be >= 1"):
        SamplingLaw(0, indptr, indices)
    with pytest.raises(ValueError, match="together"):
        SamplingLaw(5, indptr, indices, negsamp.alias.table_entries(negsamp.AliasTable([1.0] * 5)))
    with pytest.raises(TypeError, match="TABLE_DTYPE"):
        SamplingLaw(5, indptr, indices, np.zeros(5), np.full(5, 0.2))


# ------------------------------------------------------------ layering
def _package_modules():
    """{dotted name: path} of negsamp's Python modules, and the set of its
    extension modules' names (from their .pyx sources or built files)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    extensions = {"negsamp." + p.name.split(".")[0] for p in PACKAGE.glob("_*.pyx")}
    extensions |= {"negsamp." + p.name.split(".")[0] for p in PACKAGE.glob("_*.so")}
    extensions |= {"negsamp." + p.name.split(".")[0] for p in PACKAGE.glob("_*.pyd")}
    return modules, extensions


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _violations(name, path, modules, extensions):
    known = set(modules) | extensions
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    bound = {}  # local name -> the negsamp module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            if base != "negsamp" and not base.startswith("negsamp."):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in known:  # a module: the layer below, or a sibling
                    bound[alias.asname or alias.name] = full
                elif _private(alias.name) and base != name:
                    found.append(f"{path.name}:{node.lineno}: from {base} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "negsamp" or alias.name.startswith("negsamp."):
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound["negsamp"] = "negsamp"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain = []
        value = node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in bound:
            continue
        target = bound[value.id]
        for attr in reversed(chain):  # negsamp.kg._x: walk down the modules
            if f"{target}.{attr}" in known:
                target = f"{target}.{attr}"
                continue
            if _private(attr) and target != name:
                found.append(f"{path.name}:{node.lineno}: {target}.{attr}")
            break
    return found


def test_no_module_imports_a_siblings_private_names():
    modules, extensions = _package_modules()
    assert "negsamp.negative" in modules and "negsamp._law" in extensions
    found = []
    for name, path in sorted(modules.items()):
        found += _violations(name, path, modules, extensions)
    # The Cython sources obey the same rule for their Python imports.
    pattern = re.compile(r"^\s*from\s+(negsamp\.\w+)\s+import\s+\(?([^)\n]*)", re.M)
    for path in sorted(PACKAGE.glob("*.pyx")):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            for item in match.group(2).split(","):
                item = item.strip().split(" as ")[0]
                if _private(item) and f"{match.group(1)}.{item}" not in extensions:
                    found.append(f"{path.name}: from {match.group(1)} import {item}")
    assert found == []


def test_the_layering_check_sees_violations(tmp_path):
    """The checker itself: each kind of private access is reported."""
    modules, extensions = _package_modules()
    source = tmp_path / "fake.py"
    source.write_text(
        "from negsamp.kg import _side_exclusions\n"
        "from negsamp import alias, _law\n"
        "import negsamp\n"
        "import negsamp.negative as neg\n"
        "x = alias._checked_table\n"
        "y = negsamp.kg._with_extra_rows\n"
        "z = neg._as_row_ids\n"
        "ok = (_law.SamplingLaw, negsamp._law, alias.AliasTable, negsamp.__version__)\n"
    )
    found = _violations("negsamp.fake", source, modules, extensions)
    assert len(found) == 4, found
    assert any("_side_exclusions" in f for f in found)
    assert any("alias._checked_table" in f for f in found)
    assert any("kg._with_extra_rows" in f for f in found)
    assert any("negative._as_row_ids" in f for f in found)
