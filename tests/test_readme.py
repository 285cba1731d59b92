"""The Python snippets of README.md run as written (so the README stays true)."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_snippets():
    assert len(_blocks()) >= 3


def test_readme_snippets_run():
    namespace: dict = {}
    for block in _blocks():
        if "torch" in block:
            torch = pytest.importorskip("torch")
            namespace["torch"] = torch
        exec(compile(block, str(README), "exec"), namespace)
