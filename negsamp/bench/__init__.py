"""``python -m negsamp.bench``: negsamp against its NumPy baselines.

Every case runs negsamp and its pure-NumPy baseline (and peers such as vose,
torch or faiss when they are installed) in this one process, and reports
nanoseconds per item and the speed-up.  Cases live in the modules
``negsamp/bench/cases_*.py``; each defines ``cases(full: bool) -> list[Case]``.

Timings are best-of-repeats wall-clock times of whole calls.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["Case", "Result", "time_call", "collect_cases", "run", "main"]


@dataclass
class Case:
    """One benchmark case.

    ``make`` builds the inputs and returns the callables to time:
    ``{"negsamp": f, "baseline": g, "<peer name>": h, ...}``; it is called
    only when the case runs, so that its memory is freed afterwards.
    ``items`` is the number of items one call produces or processes (for
    ns/item).  ``peers`` names the other callables ``make`` may return
    (some only when their package is installed), so that the pytest-benchmark
    groups of ``benchmarks/`` can list them before any case is built.

    These cases are the one definition of every workload: the report
    command times them, and ``benchmarks/test_bench_*.py`` turns each into a
    pytest-benchmark group."""

    operation: str
    sizes: str
    items: int
    make: Callable[[], Dict[str, Callable[[], Any]]]
    baseline_name: str = "numpy"
    note: str = ""
    peers: Tuple[str, ...] = ()


@dataclass
class Result:
    operation: str
    sizes: str
    items: int
    seconds: Dict[str, float] = field(default_factory=dict)
    baseline_name: str = "numpy"
    note: str = ""

    def ns_per_item(self, name: str) -> Optional[float]:
        s = self.seconds.get(name)
        return None if s is None else s / self.items * 1e9

    @property
    def speedup(self) -> Optional[float]:
        a, b = self.seconds.get("negsamp"), self.seconds.get("baseline")
        return None if not a or b is None else b / a

    def to_dict(self) -> Dict[str, Any]:
        return {
            "operation": self.operation,
            "sizes": self.sizes,
            "items": self.items,
            "seconds": self.seconds,
            "ns_per_item": {k: self.ns_per_item(k) for k in self.seconds},
            "baseline": self.baseline_name,
            "speedup": self.speedup,
            "note": self.note,
        }


def time_call(fn: Callable[[], Any], *, min_time: float = 0.3, max_repeat: int = 500,
              min_repeat: int = 2) -> float:
    """Best wall time of ``fn()`` over repeats: cheap calls are repeated until
    ``min_time`` seconds have passed (up to ``max_repeat`` times), so that the
    minimum is robust; calls slower than ``2 * min_time`` run twice."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > 2 * min_time:
        # Slow calls: one more run is enough, keep the better of the two.
        min_repeat, max_repeat = 1, 1
    best = first
    total = 0.0
    repeats = 0
    while repeats < max_repeat and (repeats < min_repeat or total < min_time):
        if first > 1e-3:
            gc.collect()
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        total += dt
        repeats += 1
    return best


def collect_cases(full: bool = False, only: Optional[str] = None) -> List[Case]:
    """Cases of every ``cases_*`` module, in module-name order."""
    import negsamp.bench as pkg

    cases: List[Case] = []
    for mod in sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)):
        if not mod.startswith("cases_"):
            continue
        module = importlib.import_module(f"negsamp.bench.{mod}")
        for case in module.cases(full):
            if only is None or only in case.operation:
                cases.append(case)
    return cases


def _fmt(x: Optional[float], digits: int = 2) -> str:
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def run(cases: List[Case], *, progress: bool = True) -> List[Result]:
    results = []
    for i, case in enumerate(cases, 1):
        if progress:
            print(f"[{i}/{len(cases)}] {case.operation} ({case.sizes}) ...",
                  file=sys.stderr, flush=True)
        fns = case.make()
        res = Result(case.operation, case.sizes, case.items,
                     baseline_name=case.baseline_name, note=case.note)
        for name, fn in fns.items():
            res.seconds[name] = time_call(fn)
        del fns
        gc.collect()
        if progress:
            print(f"      negsamp {_fmt(res.ns_per_item('negsamp'))} ns/item, "
                  f"{res.baseline_name} {_fmt(res.ns_per_item('baseline'))} ns/item, "
                  f"speed-up {_fmt(res.speedup)}x", file=sys.stderr, flush=True)
        results.append(res)
    return results


def machine_description() -> str:
    from negsamp import __version__
    from negsamp._threads import cores, default_n_threads

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"negsamp {__version__}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}, {cpu}, "
            f"{os.cpu_count()} cores ({cores()} usable), negsamp thread pool, "
            f"default {default_n_threads()} threads")


def _peer_names(results: List[Result]) -> List[str]:
    names: List[str] = []
    for r in results:
        for k in r.seconds:
            if k not in ("negsamp", "baseline") and k not in names:
                names.append(k)
    return names


def format_table(results: List[Result], markdown: bool = False) -> str:
    peers = _peer_names(results)
    header = ["operation", "sizes", "negsamp ns/item", "baseline", "baseline ns/item",
              "speed-up"] + [f"{p} ns/item" for p in peers] + [
                  f"vs {p}" for p in peers]
    rows = []
    for r in results:
        neg = r.seconds.get("negsamp")
        row = [r.operation, r.sizes, _fmt(r.ns_per_item("negsamp")), r.baseline_name,
               _fmt(r.ns_per_item("baseline")), _fmt(r.speedup) + "x"]
        row += [_fmt(r.ns_per_item(p)) for p in peers]
        row += [(_fmt(r.seconds[p] / neg) + "x") if (p in r.seconds and neg) else "-"
                for p in peers]
        rows.append(row)
    return render_table(header, rows, markdown)


def render_table(header: List[str], rows: List[List[str]], markdown: bool = False) -> str:
    """A plain-text table with aligned columns, or a Markdown one."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    out = [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
    out += [fmt.format(*row) for row in rows]
    return "\n".join(out)


def plot(results: List[Result], path: str, machine: Optional[str] = None) -> None:
    """Bar chart of the speed-up of every case over its baseline."""
    try:
        import matplotlib  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found, import-untyped, unused-ignore]

    rows = [r for r in results if r.speedup is not None]
    labels = [f"{r.operation}\n{r.sizes}" for r in rows]
    values = [r.speedup for r in rows if r.speedup is not None]  # all of them
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    ax.barh(range(len(rows)), values, color="#3b7dd8")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("speed-up over the case's baseline (NumPy unless the table names "
                  "another; log scale; >1 = negsamp faster)")
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.1f}x", va="center", fontsize=7)
    ax.set_title("negsamp vs NumPy baselines\n" + (machine or machine_description()),
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m negsamp.bench",
        description="Time negsamp against its NumPy baselines (and peers when "
                    "installed) in one process and print the speed-ups.")
    parser.add_argument("--full", action="store_true",
                        help="run the sizes named in the issues (slower, more memory)")
    parser.add_argument("--only", metavar="TEXT",
                        help="run only operations whose name contains TEXT")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the table as Markdown")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="draw the speed-ups (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--from-json", metavar="FILE",
                        help="do not run: report (table, --markdown, --plot) the results "
                             "saved by an earlier --json run")
    parser.add_argument("--busy", action="store_true",
                        help="default threads against n_threads=1, on the idle machine and "
                             "with every core kept busy by helper processes (compilers, "
                             "a torch training loop when torch is installed)")
    parser.add_argument("--loads", metavar="LIST",
                        help="with --busy: comma-separated loads among idle,compile,torch "
                             "(default: idle and every available load)")
    args = parser.parse_args(argv)

    machine = machine_description()
    if args.busy:
        return _main_busy(args, machine)
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        machine = saved["machine"]
        results = [Result(r["operation"], r["sizes"], r["items"], dict(r["seconds"]),
                          r["baseline"], r.get("note", ""))
                   for r in saved["results"]
                   if args.only is None or args.only in r["operation"]]
    else:
        cases = collect_cases(full=args.full, only=args.only)
        if not cases:
            print("no benchmark case matches", file=sys.stderr)
            return 2
        print(machine, file=sys.stderr)
        results = run(cases, progress=not args.quiet)
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine,
                       "results": [r.to_dict() for r in results]}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"Machine: {machine}\n\n")
            f.write(format_table(results, markdown=True) + "\n")
    if args.plot:
        plot(results, args.plot, machine)
    return 0


def _main_busy(args: Any, machine: str) -> int:
    from negsamp.bench import busy

    loads = (["idle"] + busy.available_loads()) if not args.loads else [
        x.strip() for x in args.loads.split(",") if x.strip()]
    print(machine, file=sys.stderr)
    results = busy.run_busy(loads, only=args.only, progress=not args.quiet)
    if not results:
        print("no benchmark case matches", file=sys.stderr)
        return 2
    print(busy.format_busy(results, loads))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "loads": loads,
                       "results": busy.to_json(results)}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"Machine: {machine}\n\n")
            f.write(busy.format_busy(results, loads, markdown=True) + "\n")
    return 0

