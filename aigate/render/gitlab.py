"""GitLab Code Quality: the JSON array GitLab's merge request widget reads from a `codequality`
report artifact. Fields as GitLab documents them (description, check_name, fingerprint, severity,
location.path, location.lines.begin); the tests validate against a schema built from those docs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aigate.models import Decision, Severity, Violation
from aigate.render._rules import location_of, violation_line
from aigate.render.interface import Renderer

__all__ = ["GitlabCodeQualityRenderer"]

# GitLab's scale is info, minor, major, critical, blocker. A blocking violation is a blocker
# whatever its severity: the MR cannot merge while it stands.
_SEVERITY: dict[Severity, str] = {"critical": "critical", "high": "critical", "medium": "major", "low": "minor",
                                  "info": "info"}


class GitlabCodeQualityRenderer(Renderer):
    name = "gitlab"

    def render(self, decision: Decision) -> str:
        issues = [self.issue(v) for v in decision.violations]
        return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def issue(violation: Violation) -> dict[str, Any]:
        path = location_of(violation)
        # Stable across runs for the same violation, distinct between violations: GitLab shows one
        # entry per fingerprint and tracks it from pipeline to pipeline.
        identity = "\0".join((violation.rule, violation.layer, path, violation.message))
        return {
            "type": "issue",
            "description": f"[aigate {violation.mode}] {violation.message}",
            "check_name": f"aigate/{violation.rule}",
            "fingerprint": hashlib.sha256(identity.encode("utf-8")).hexdigest(),
            "severity": "blocker" if violation.blocking else _SEVERITY[violation.severity],
            "categories": ["Security"],
            "location": {"path": path, "lines": {"begin": violation_line(violation)}},
        }
