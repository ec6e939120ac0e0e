"""What each built-in rule means, for formats that describe rules (SARIF help, JUnit, Code Quality).

A rule from a team's own policies that is not listed here gets a generic description.
"""

from __future__ import annotations

from dataclasses import dataclass

from aigate.models import Decision, Violation

__all__ = ["RuleHelp", "location_of", "rule_help", "rules_of", "violation_line"]

# A violation that names no file (a scope limit, an ignored setting) is reported against the file
# that configures the gate: formats such as GitLab Code Quality require a file for every issue.
_NO_PATH = ".ai-code-gate.yml"


@dataclass(frozen=True)
class RuleHelp:
    short: str
    help: str


_RULES: dict[str, RuleHelp] = {
    "blocked_path": RuleHelp(
        "The PR changes a path the policy blocks",
        "An AI-generated PR may not change files matching `policy.blocked_patterns`. Move the change to a "
        "human-authored PR, or change the blocked patterns in the base branch's config.",
    ),
    "path_not_allowed": RuleHelp(
        "The PR changes a path outside the allowed patterns",
        "`policy.allowed_patterns` fences AI-generated PRs in; this path is outside every allowed pattern.",
    ),
    "max_files": RuleHelp(
        "The PR changes more files than allowed",
        "`policy.scope_limits.max_files` caps the number of changed files of an AI-generated PR. Split it.",
    ),
    "max_lines_added": RuleHelp(
        "The PR adds more lines than allowed",
        "`policy.scope_limits.max_lines_added` caps the lines an AI-generated PR adds. Split it.",
    ),
    "max_lines_removed": RuleHelp(
        "The PR removes more lines than allowed",
        "`policy.scope_limits.max_lines_removed` caps the lines an AI-generated PR removes. Split it.",
    ),
    "tests_required": RuleHelp(
        "Source changes come without test changes",
        "`policy.require_tests` asks every AI-generated PR that changes source files to change tests too.",
    ),
    "scan_threshold": RuleHelp(
        "Scanner findings exceed the allowed count",
        "`scanning.max_findings` caps the findings of each severity. Fix the findings or have them triaged.",
    ),
    "secret_detected": RuleHelp(
        "A secret scanner found a secret",
        "Any secret finding is a violation (`scanning.block_secrets`). Remove the secret and rotate it.",
    ),
    "secret_check_incomplete": RuleHelp(
        "aigate's own secret check did not read every added line",
        "The built-in secret check reads at most `scanning.builtin_secrets.max_added_lines` added lines; the "
        "rest of this PR was never checked. Give a secret scanner's report (`--scan gitleaks=…`), or raise the budget.",
    ),
    "gate_config_changed": RuleHelp(
        "The PR changes the gate itself",
        "The PR changes the gate's config, its policies, CI definitions, CODEOWNERS or .gitattributes. "
        "The gate judged it with the base revision's config; a human must review the change "
        "(the decision's `config_change` shows the proposed config).",
    ),
    "untrusted_setting": RuleHelp(
        "A config from the PR's own tree tried to choose the gate's code, servers or files",
        "Settings such as `policy.policy_dir`, `policy.engine.opa_url` and `audit.path` are honoured only "
        "from the base revision's config or a --config outside the checkout; this one was ignored.",
    ),
}


def rule_help(rule: str) -> RuleHelp:
    return _RULES.get(rule) or RuleHelp(f"Policy rule {rule}", f"Violation of the policy rule `{rule}`.")


def location_of(violation: Violation) -> str:
    """The repository-relative file a violation is reported against."""
    return violation.path or _NO_PATH


def violation_line(violation: Violation) -> int:
    """The line a violation points at: its own when the policy gives one, else the file's first."""
    line = getattr(violation, "line", None)
    return line if isinstance(line, int) and line > 0 else 1


def rules_of(decision: Decision) -> list[str]:
    """The distinct rules of a decision's violations, in first-seen order."""
    return list(dict.fromkeys(v.rule for v in decision.violations))
