#!/usr/bin/env bash
# The worked example of README "Scanning": run real scanners on project/ (the PR's head), then let aigate
# decide on the PR with their reports. Usage: examples/scanning/run.sh [OUT_DIR] [aigate evaluate options…]
# Needs bandit, semgrep, gitleaks and detect-secrets on PATH (.ci/run installs them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(mkdir -p "${1:-$here/out}" && cd "${1:-$here/out}" && pwd)"
shift || true
cd "$here/project"

bandit -q -r . -f json -o "$out/bandit.json" --exit-zero
semgrep scan --config "$here/semgrep-rules.yml" --json --metrics off --disable-version-check -q . > "$out/semgrep.json"
gitleaks dir . --report-format json --report-path "$out/gitleaks.json" --exit-code 0 --no-banner --log-level error
detect-secrets scan --all-files . > "$out/detect-secrets.json"

cd "$here"
exec aigate evaluate --pr pr.json --diff pr.diff \
  --scan "bandit=$out/bandit.json" --scan "semgrep=$out/semgrep.json" \
  --scan "gitleaks=$out/gitleaks.json" --scan "detect-secrets=$out/detect-secrets.json" "$@"
