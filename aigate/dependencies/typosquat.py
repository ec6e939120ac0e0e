"""Is a new package's name one edit away from a popular one (a typo-squat)? Against name lists in files:
aigate ships one per ecosystem (popular/), and the config may name others. No network call."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from packaging.utils import canonicalize_name

from aigate.errors import ConfigError

__all__ = ["SEARCH_DISTANCE", "PopularNames"]

# How far the nearest popular name is looked for; the policy's max_distance (at most this) decides.
SEARCH_DISTANCE = 3
_SHIPPED = Path(__file__).resolve().parent / "popular"


class PopularNames:
    def __init__(self, files: Mapping[str, Path] | None = None) -> None:
        self.files = dict(files or {})

    def names(self, ecosystem: str) -> frozenset[str]:
        path = self.files.get(ecosystem) or _SHIPPED / f"{ecosystem}.txt"
        return _read(path, ecosystem) if path.is_file() or ecosystem in self.files else frozenset()

    def nearest(self, ecosystem: str, name: str) -> tuple[str, int] | None:
        """The closest popular name (Damerau-Levenshtein distance, ties by list order) when the name is not
        popular itself and one is within SEARCH_DISTANCE edits."""
        popular = self.names(ecosystem)
        key = _normal(ecosystem, name)
        # Short names sit one edit from many others ("six", "sip", "pip"): not a useful signal.
        if not popular or key in popular or len(key) < 5:
            return None
        # Imported here: every evaluation imports this package, few PRs add a dependency (~20 ms).
        from rapidfuzz.distance import DamerauLevenshtein
        from rapidfuzz.process import extractOne

        match = extractOne(key, sorted(popular), scorer=DamerauLevenshtein.distance, score_cutoff=SEARCH_DISTANCE)
        if match is None:
            return None
        return str(match[0]), int(match[1])


def _normal(ecosystem: str, name: str) -> str:
    return canonicalize_name(name) if ecosystem == "pypi" else name.lower()


@cache
def _read(path: Path, ecosystem: str) -> frozenset[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"scanning.dependencies.typosquat.popular_names: {path}: cannot read: "
                          f"{e.strerror or e}") from e
    return frozenset(_normal(ecosystem, line.split("#", 1)[0].strip()) for line in lines
                     if line.split("#", 1)[0].strip())
