"""The Python code of the documentation pages runs and its assertions hold.

Every ```python block of a page runs in one namespace, in order, except a
block preceded by an ``<!-- not tested: ... -->`` comment (code that needs a
framework that is not a dependency).
"""

from __future__ import annotations

import re
from pathlib import Path

import mpmath
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [
    "index.md",
    "tutorials/step-sizes.md",
    "tutorials/precision.md",
    "frameworks.md",
]
BLOCK = re.compile(r"(<!-- not tested[^\n]*-->\n)?```python\n(.*?)```", re.DOTALL)


def python_blocks(text):
    return [code for skip, code in BLOCK.findall(text) if not skip]


@pytest.mark.parametrize("page", PAGES)
def test_documentation_code_runs(page, capsys):
    path = DOCS / page
    blocks = python_blocks(path.read_text())
    assert blocks, f"{page} has no tested code"
    namespace = {"__name__": f"docs_{page}"}
    # A page may set mpmath's global precision; keep it from leaking.
    with mpmath.workdps(mpmath.mp.dps):
        exec(compile("\n".join(blocks), str(path), "exec"), namespace)
