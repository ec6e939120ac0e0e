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


def test_what_the_command_imports_before_git_starts_is_the_standard_librarys_lightest() -> None:
    # `aigate evaluate --repo` starts git on the diff once these are imported: typing, dataclasses, json and
    # pathlib (20-30 ms) come after, while git diffs. Those the interpreter itself already loaded do not count.
    code = (
        "import sys; before = set(sys.modules); import aigate._entry, aigate.sources._git; "
        "print(sorted(m for m in ('typing', 'dataclasses', 'json', 'pathlib', 'pydantic', 'yaml', 'regorus') "
        "if m in sys.modules and m not in before))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
