"""The package's public names resolve on first use, and importing the git source alone leaves pydantic, yaml
and the engine out (so the CLI can start git on a --repo diff before importing them)."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

from conftest import REPO

import aigate


def test_every_public_name_resolves_to_its_module() -> None:
    assert set(aigate._HOMES) == set(aigate.__all__) - {"__version__"}
    for name in aigate.__all__:
        assert getattr(aigate, name) is getattr(import_module(aigate._HOMES[name]), name)
    from aigate import Gate, InputDocument

    assert Gate.__module__ == "aigate.gate"
    assert InputDocument.__module__ == "aigate.models"


def test_git_source_imports_without_the_heavy_libraries() -> None:
    code = (
        "import sys, aigate._entry, aigate.sources.git_repo; "
        "print(sorted(m for m in ('pydantic', 'yaml', 'regorus', 'aigate.gate') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
