"""The `sandbox` section of `.ai-code-gate.yml`, as a typed model."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SandboxLimits", "SandboxSettings"]

# Never passed into the sandbox, whatever the allowlist says: a broad allowlist entry ("*") must not
# hand CI's credentials to the code under test.
_NEVER_PASSED = (
    "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*", "*_KEY", "*_KEY_*", "*APIKEY*",
    "AWS_*", "AZURE_*", "GOOGLE_*", "GCP_*", "GITHUB_*", "GITLAB_*", "CI_JOB_*", "ACTIONS_*", "SSH_*",
    "NPM_CONFIG_*", "PIP_*", "TWINE_*", "DOCKER_*", "KUBECONFIG", "VAULT_*", "AIGATE_*",
)


class SandboxLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_seconds: float = Field(default=600, gt=0)
    cpu_seconds: int = Field(default=600, gt=0)
    memory_mb: int = Field(default=4096, gt=0)
    processes: int = Field(default=256, gt=0)
    output_kb: int = Field(default=10240, gt=0)

    def as_report(self) -> dict[str, float]:
        return {
            "wall_seconds": self.wall_seconds,
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_mb * 1024 * 1024,
            "processes": self.processes,
            "output_bytes": self.output_kb * 1024,
        }


class SandboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str = "block"
    required: bool = False
    allow_setup: bool = True
    allow_loopback: bool = False
    limits: SandboxLimits = Field(default_factory=SandboxLimits)
    env_allow: tuple[str, ...] = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "PYTHONHASHSEED")
    read_only_paths: tuple[str, ...] = ()
    junit: tuple[str, ...] = ()
    coverage: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> SandboxSettings:
        return cls.model_validate(dict(section))

    def environment(self, inherited: Mapping[str, str]) -> dict[str, str]:
        """The variables the sandboxed command sees: the allowlist, less anything credential-like."""
        passed: dict[str, str] = {}
        for name, value in inherited.items():
            if any(fnmatch.fnmatchcase(name, p) for p in _NEVER_PASSED):
                continue
            if any(fnmatch.fnmatchcase(name, p) for p in self.env_allow):
                passed[name] = value
        return passed
