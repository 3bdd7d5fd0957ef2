"""The README's example runs against a real kvd."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from conftest import Daemon


def test_readme_example(kvd: Daemon) -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    code = code.replace('"/run/kvd/kvd.sock"', repr(kvd.socket))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {})
    assert output.getvalue().strip() == "(2048, 64)"
