"""New and hallucinated dependencies: manifests and lock files in the diff (or both versions with --repo),
the registry check against a package index served on 127.0.0.1, the offline snapshot, the cache, and the
policy options (allow/deny, minimum age, pinning, typo-squats)."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from aigate import Gate
from aigate.config import config_from_mapping
from aigate.dependencies import DependencyOptions, discover_dependencies
from aigate.dependencies.manifests import parse_lines, parse_manifest
from aigate.dependencies.registry import RegistryClient, RegistryOptions
from aigate.errors import RegistryError
from aigate.models import FileChange
from aigate.sources.added_lines import read_diff_lines

NOW = datetime.now(UTC)
OLD = (NOW - timedelta(days=3000)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
FRESH = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
PYPI = {"requests": OLD, "flask": OLD, "brand-new-helper": FRESH, "pyyaml": OLD}
NPM = {"lodash": OLD, "left-pad": OLD, "fresh-widget": FRESH}


class _Index(BaseHTTPRequestHandler):
    """A PEP 691 simple index under /simple/ and an npm registry under /npm/, on 127.0.0.1."""

    requests: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        _Index.requests.append(self.path)
        if self.path.startswith("/simple/"):
            name = self.path.removeprefix("/simple/").strip("/")
            if name not in PYPI:
                return self._send(404, b"not found", "text/plain")
            body = {"meta": {"api-version": "1.1"}, "name": name, "files": [
                {"filename": f"{name}-1.0.tar.gz", "url": f"{name}-1.0.tar.gz", "hashes": {},
                 "upload-time": PYPI[name]},
            ]}
            return self._send(200, json.dumps(body).encode(), "application/vnd.pypi.simple.v1+json")
        if self.path.startswith("/npm/"):
            name = self.path.removeprefix("/npm/").replace("%2f", "/")
            if name not in NPM:
                return self._send(404, b"{}", "application/json")
            return self._send(200, json.dumps({"name": name, "time": {"created": NPM[name]}}).encode(),
                              "application/json")
        return self._send(404, b"", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _registry(index: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"pypi_index_url": f"{index}/simple/", "npm_registry": f"{index}/npm/",
            "cache_dir": str(tmp_path / "cache"), "timeout": 2.0, **extra}


def _gate(index: str, tmp_path: Path, registry: dict[str, Any] | None = None, **dependencies: Any) -> Gate:
    settings = {"registry": registry or _registry(index, tmp_path), **dependencies}
    return Gate(config_from_mapping({"scanning": {"dependencies": settings}}, base_dir=tmp_path))


def _diff(path: str, added: list[str], removed: list[str] = (), new_file: bool = False) -> str:  # type: ignore[assignment]
    header = f"diff --git a/{path} b/{path}\n"
    if new_file:
        header += f"new file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{path}\n"
        return header + f"@@ -0,0 +1,{len(added)} @@\n" + "".join(f"+{a}\n" for a in added)
    header += f"index 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n"
    body = "".join(f"-{r}\n" for r in removed) + "".join(f"+{a}\n" for a in added)
    return header + f"@@ -1,{len(removed) + 1} +1,{len(added) + 1} @@\n # header\n" + body


AI = {"labels": ["ai-generated"]}


def _rules(decision: Any) -> dict[str, tuple[str, bool]]:
    return {v.rule: (v.severity, v.blocking) for v in decision.violations if v.layer == "scanning"}


# --- the registry check on 127.0.0.1 ---------------------------------------------------------------

def test_found_package_passes_and_is_recorded(index: str, tmp_path: Path) -> None:
    gate = _gate(index, tmp_path)
    document = gate.input_document(pr=AI, diff=_diff("requirements.txt", ["requests==2.31.0"]))
    [dependency] = document.dependencies
    assert (dependency.ecosystem, dependency.name, dependency.version, dependency.change) == (
        "pypi", "requests", "2.31.0", "added")
    assert dependency.pinned is True and dependency.manifest == "requirements.txt"
    assert (dependency.registry.status, dependency.registry.source) == ("found", "registry")
    assert dependency.registry.age_days is not None and dependency.registry.age_days >= 2999
    decision = gate.evaluate(document)
    assert _rules(decision) == {}
    assert decision.risk is not None and decision.risk.raised_by == ("new_dependency",)
    assert decision.outcome == "review"


def test_missing_package_is_a_blocking_hallucination(index: str, tmp_path: Path) -> None:
    decision = _gate(index, tmp_path).evaluate(pr=AI, diff=_diff("requirements.txt", ["fastjson-turbo-utils==1.0"]))
    assert _rules(decision)["hallucinated_package"] == ("critical", True)
    assert decision.outcome == "block"


def test_missing_npm_package(index: str, tmp_path: Path) -> None:
    diff = _diff("package.json", ['    "react-super-form-validatorz": "^2.1.0",'], ['  "dependencies": {'])
    decision = _gate(index, tmp_path).evaluate(pr=AI, diff=diff)
    assert "hallucinated_package" in _rules(decision)


def test_too_new_package(index: str, tmp_path: Path) -> None:
    gate = _gate(index, tmp_path)
    decision = gate.evaluate(pr=AI, diff=_diff("requirements.txt", ["brand-new-helper==0.1"]))
    assert _rules(decision) == {"dependency_too_new": ("high", True)}
    relaxed = _gate(index, tmp_path, min_age_days=1).evaluate(pr=AI, diff=_diff("requirements.txt",
                                                                                ["brand-new-helper==0.1"]))
    assert _rules(relaxed) == {}


def test_unreachable_registry_is_an_error(closed_port: str, tmp_path: Path) -> None:
    gate = _gate(closed_port, tmp_path, _registry(closed_port, tmp_path, cache_ttl_hours=0))
    with pytest.raises(RegistryError, match=r"pypi registry http://127\.0\.0\.1:\d+/simple/: unreachable"):
        gate.input_document(pr=AI, diff=_diff("requirements.txt", ["requests==2.31.0"]))


def test_unreachable_registry_as_warning(closed_port: str, tmp_path: Path) -> None:
    gate = _gate(closed_port, tmp_path, _registry(closed_port, tmp_path, unreachable="warn", cache_ttl_hours=0))
    decision = gate.evaluate(pr=AI, diff=_diff("requirements.txt", ["requests==2.31.0"]))
    [warning] = [v for v in decision.violations if v.rule == "registry_unreachable"]
    assert (warning.mode, warning.blocking) == ("warn", False)


def test_unreachable_registry_exits_2_on_the_cli(closed_port: str, tmp_path: Path) -> None:
    config = tmp_path / ".ai-code-gate.yml"
    config.write_text(json.dumps({"scanning": {"dependencies": {"registry": _registry(closed_port, tmp_path)}}}))
    diff = tmp_path / "pr.diff"
    diff.write_text(_diff("requirements.txt", ["requests==2.31.0"]))
    result = run_cli("evaluate", "--config", config, "--diff", diff)
    assert result.code == 2 and result.stdout == ""
    assert "pypi registry" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_answers_are_cached(index: str, tmp_path: Path) -> None:
    options = RegistryOptions(pypi_index_url=f"{index}/simple/", cache_dir=tmp_path / "cache")
    first = RegistryClient(options)
    assert first.lookup("pypi", "Flask").status == "found"
    assert first.lookup("pypi", "not-there-at-all").status == "missing"
    assert first.requests_sent == 2
    second = RegistryClient(options)
    assert second.lookup("pypi", "flask").source == "cache"
    assert second.lookup("pypi", "not-there-at-all").status == "missing"
    assert second.requests_sent == 0
    expired = RegistryClient(options, now=NOW + timedelta(days=2))
    assert expired.lookup("pypi", "flask").source == "registry"


@pytest.mark.parametrize("form", ["json", "allowlist"])
def test_offline_snapshot(tmp_path: Path, form: str) -> None:
    snapshot = tmp_path / "snapshot"
    if form == "json":
        snapshot.write_text(json.dumps({"pypi": {"requests": OLD, "brand-new-helper": FRESH}}))
    else:
        snapshot.write_text("# known packages\npypi:requests\npypi:brand-new-helper\n")
    registry = {"offline": True, "snapshot": "snapshot", "pypi_index_url": "http://127.0.0.1:9/never/"}
    gate = _gate("", tmp_path, registry)
    document = gate.input_document(pr=AI, diff=_diff("requirements.txt", ["requests==2", "nope-pkg-xyz==1",
                                                                          "brand-new-helper==1"]))
    status = {d.name: (d.registry.status, d.registry.source, d.registry.age_days is not None)
              for d in document.dependencies}
    assert status == {
        "requests": ("found", "snapshot", form == "json"),
        "nope-pkg-xyz": ("missing", "snapshot", False),
        "brand-new-helper": ("found", "snapshot", form == "json"),
    }
    rules = _rules(gate.evaluate(document))
    assert "hallucinated_package" in rules
    assert ("dependency_too_new" in rules) is (form == "json")


def test_offline_without_snapshot_is_an_error(tmp_path: Path) -> None:
    gate = _gate("", tmp_path, {"offline": True})
    with pytest.raises(RegistryError, match="needs a snapshot"):
        gate.input_document(diff=_diff("requirements.txt", ["requests==2"]))


# --- policy options ---------------------------------------------------------------------------------

def test_typosquat_of_a_popular_name(index: str, tmp_path: Path) -> None:
    gate = _gate(index, tmp_path, registry=_registry(index, tmp_path, check=False))
    document = gate.input_document(pr=AI, diff=_diff("requirements.txt", ["reqeusts==2.31.0"]))
    [dependency] = document.dependencies
    assert (dependency.similar_to, dependency.similar_distance) == ("requests", 1)
    assert _rules(gate.evaluate(document)) == {"typosquat_suspect": ("high", True)}
    popular = gate.input_document(pr=AI, diff=_diff("requirements.txt", ["requests==2.31.0"]))
    assert popular.dependencies[0].similar_to is None


def test_popular_names_from_a_configured_file(index: str, tmp_path: Path) -> None:
    (tmp_path / "names.txt").write_text("internal-billing\n")
    registry = _registry(index, tmp_path, check=False)
    diff = _diff("requirements.txt", ["internal-bi11ing==1"])
    gate = _gate(index, tmp_path, registry, typosquat={"popular_names": {"pypi": "names.txt"}})
    document = gate.input_document(pr=AI, diff=diff)
    assert (document.dependencies[0].similar_to, document.dependencies[0].similar_distance) == ("internal-billing", 2)
    assert _rules(gate.evaluate(document)) == {}  # two edits: beyond the default max_distance of 1
    wider = _gate(index, tmp_path, registry, typosquat={"popular_names": {"pypi": "names.txt"}, "max_distance": 2})
    assert _rules(wider.evaluate(pr=AI, diff=diff)) == {"typosquat_suspect": ("high", True)}


def test_allow_and_deny_lists(index: str, tmp_path: Path) -> None:
    registry = _registry(index, tmp_path)
    allowed = _gate(index, tmp_path, registry, allow=["pypi:fastjson-turbo-utils"])
    assert _rules(allowed.evaluate(pr=AI, diff=_diff("requirements.txt", ["fastjson-turbo-utils==1"]))) == {}
    denied = _gate(index, tmp_path, registry, deny=["requests"])
    assert _rules(denied.evaluate(pr=AI, diff=_diff("requirements.txt", ["requests==2"]))) == {
        "dependency_denied": ("high", True)}


def test_unpinned_version(index: str, tmp_path: Path) -> None:
    gate = _gate(index, tmp_path, require_pinned=True)
    rules = _rules(gate.evaluate(pr=AI, diff=_diff("requirements.txt", ["requests>=2", "flask==3.0.0"])))
    assert rules == {"dependency_not_pinned": ("medium", True)}


def test_removed_dependencies_are_not_looked_up(index: str, tmp_path: Path) -> None:
    before = len(_Index.requests)
    document = _gate(index, tmp_path).input_document(diff=_diff("requirements.txt", [], ["gone-package==1"]))
    assert [(d.name, d.change, d.registry.status) for d in document.dependencies] == [
        ("gone-package", "removed", "unchecked")]
    assert len(_Index.requests) == before


def test_dependency_check_switched_off(tmp_path: Path) -> None:
    gate = Gate(config_from_mapping({"scanning": {"dependencies": {"enabled": False}}}))
    assert gate.input_document(diff=_diff("requirements.txt", ["nothing-here==1"])).dependencies == ()


# --- manifests: whole files and hunks -----------------------------------------------------------------

WHOLE = {
    "requirements-dev.txt": ("requests==2.31.0\nflask>=2  # web\n-r base.txt\n", {
        ("pypi", "requests"): ("2.31.0", True), ("pypi", "flask"): (">=2", False)}),
    "pyproject.toml": (
        '[project]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n    "Requests==2.31.0",\n    "rich>=13",\n]\n'
        '[project.optional-dependencies]\ndev = [\n  "pytest",\n]\n[tool.poetry.dependencies]\npython = "^3.11"\n'
        'httpx = "0.27.0"\nattrs = {version = "^23"}\n',
        {("pypi", "requests"): ("2.31.0", True), ("pypi", "rich"): (">=13", False),
         ("pypi", "pytest"): (None, False), ("pypi", "httpx"): ("0.27.0", True), ("pypi", "attrs"): ("^23", False)}),
    "setup.cfg": ("[options]\ninstall_requires =\n    click==8.1.7\n    jinja2\n", {
        ("pypi", "click"): ("8.1.7", True), ("pypi", "jinja2"): (None, False)}),
    "Pipfile": ('[packages]\nrequests = "==2.31.0"\nflask = "*"\n[dev-packages]\npytest = {version = ">=8"}\n', {
        ("pypi", "requests"): ("2.31.0", True), ("pypi", "flask"): (None, False), ("pypi", "pytest"): (">=8", False)}),
    "poetry.lock": ('[[package]]\nname = "certifi"\nversion = "2024.2.2"\n', {("pypi", "certifi"): ("2024.2.2", True)}),
    "uv.lock": ('[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { editable = "." }\n\n[[package]]\n'
                'name = "idna"\nversion = "3.7"\nsource = { registry = "https://example.invalid/simple" }\n',
                {("pypi", "idna"): ("3.7", True)}),
    "package.json": (json.dumps({"name": "app", "version": "1.0.0", "scripts": {"test": "jest --ci"},
                                 "dependencies": {"lodash": "4.17.21", "@types/node": "^20"},
                                 "devDependencies": {"jest": "~29.7.0"}}, indent=2),
                     {("npm", "lodash"): ("4.17.21", True), ("npm", "@types/node"): ("^20", False),
                      ("npm", "jest"): ("~29.7.0", False)}),
    "package-lock.json": (json.dumps({"name": "app", "lockfileVersion": 3, "packages": {
                              "": {"name": "app", "version": "1.0.0"},
                              "node_modules/lodash": {"version": "4.17.21"},
                              "node_modules/a/node_modules/@scope/b": {"version": "1.0.0"}}}, indent=2),
                          {("npm", "lodash"): ("4.17.21", True), ("npm", "@scope/b"): ("1.0.0", True)}),
    "go.mod": ("module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1\n"
               "\tgolang.org/x/text v0.14.0 // indirect\n)\nrequire github.com/google/uuid v1.6.0\n",
               {("go", "github.com/pkg/errors"): ("v0.9.1", True), ("go", "golang.org/x/text"): ("v0.14.0", True),
                ("go", "github.com/google/uuid"): ("v1.6.0", True)}),
    "Cargo.toml": ('[package]\nname = "app"\nversion = "0.1.0"\n\n[dependencies]\nserde = "1.0"\n'
                   'tokio = { version = "=1.37.0", features = ["full"] }\nlocal = { path = "../local" }\n',
                   {("cargo", "serde"): ("1.0", False), ("cargo", "tokio"): ("1.37.0", True)}),
    "Gemfile": ("source 'https://example.invalid'\ngem 'rails', '7.1.3'\ngem \"puma\", \"~> 6.4\"\ngem 'rake'\n",
                {("rubygems", "rails"): ("7.1.3", True), ("rubygems", "puma"): ("~> 6.4", False),
                 ("rubygems", "rake"): (None, False)}),
}


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_whole_manifest(name: str) -> None:
    text, expected = WHOLE[name]
    found = {key: (d.version, d.pinned) for key, d in parse_manifest(name, text).items()}
    assert found == expected


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_manifest_lines_alone(name: str) -> None:
    # Without the whole file (a diff's added lines only), every dependency line is still read.
    text, expected = WHOLE[name]
    found = set(parse_lines(name, text.splitlines()))
    assert found == set(expected)


def test_hunks_give_added_updated_removed() -> None:
    diff = _diff("app/package.json", ['    "lodash": "4.17.21",', '    "axios": "1.6.0",'],
                 ['    "lodash": "4.17.15",', '    "request": "2.88.2",'])
    files = (FileChange(path="app/package.json", status="modified", added=2, removed=2),)
    options = DependencyOptions(registry=RegistryOptions(check=False))
    found = discover_dependencies(files, diff_lines=lambda: read_diff_lines(diff), options=options)
    assert {(d.name, d.change, d.version) for d in found} == {
        ("lodash", "updated", "4.17.21"), ("axios", "added", "1.6.0"), ("request", "removed", "2.88.2")}


def test_repo_reads_base_and_head_versions(tmp_path: Path, index: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path / "r"), *args], check=True, capture_output=True)

    (tmp_path / "r").mkdir()
    git("init", "-q", "-b", "main")
    git("config", "user.email", "a@example.com")
    git("config", "user.name", "A")
    manifest = tmp_path / "r" / "package.json"
    manifest.write_text(json.dumps({"name": "app", "dependencies": {"lodash": "4.17.15", "left-pad": "1.3.0"}},
                                   indent=2))
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "claude/deps")
    # Reformatted on one line: hunks alone could not tell what changed; both whole versions can.
    manifest.write_text(json.dumps({"name": "app", "dependencies": {"lodash": "4.17.21", "fresh-widget": "1.0.0"}}))
    git("commit", "-qam", "deps")
    document = _gate(index, tmp_path).input_document(repo=tmp_path / "r", base="main", head="claude/deps")
    assert {(d.name, d.change, d.registry.status) for d in document.dependencies} == {
        ("lodash", "updated", "found"), ("fresh-widget", "added", "found"), ("left-pad", "removed", "unchecked")}


def test_the_checkouts_npmrc_does_not_choose_the_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked from the checkout, `npm config get registry` read the PR's own .npmrc: a PR adding one pointed
    the hallucinated-package check at a registry that knows every name. npm is asked from an empty folder."""
    from aigate.dependencies.registry import _npm_registry

    for variable in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        monkeypatch.delenv(variable, raising=False)
    user_config = tmp_path / "user.npmrc"
    user_config.write_text("registry=http://127.0.0.1:9/runner-registry/\n")
    monkeypatch.setenv("NPM_CONFIG_USERCONFIG", str(user_config))
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (checkout / ".npmrc").write_text("registry=http://127.0.0.1:9/the-prs-registry/\n")
    monkeypatch.chdir(checkout)
    asked_here = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True, check=True)
    assert asked_here.stdout.strip() == "http://127.0.0.1:9/the-prs-registry/"  # what npm reads in the checkout
    assert _npm_registry(RegistryOptions()) == "http://127.0.0.1:9/runner-registry/"


@pytest.mark.parametrize("url", ["zzz", "file:///etc/passwd", "http://[::1", "https://"])
def test_a_registry_url_that_is_no_http_url_is_one_clear_error(url: str, tmp_path: Path) -> None:
    """urllib failed on it ("unknown url type"), and the gate stopped with an internal error."""
    pr = tmp_path / "pr.json"
    pr.write_text('{"title": "x", "labels": ["ai-generated"]}')
    diff = tmp_path / "pr.diff"
    diff.write_text("diff --git a/requirements.txt b/requirements.txt\nnew file mode 100644\n"
                    "index 0000000..1111111\n--- /dev/null\n+++ b/requirements.txt\n@@ -0,0 +1 @@\n+requestz==1.0\n")
    result = run_cli("evaluate", "--pr", pr, "--diff", diff, env={"PIP_INDEX_URL": url})
    assert result.code == 2, result.stdout
    assert result.stderr == ("aigate: error: the pypi registry URL is not an http(s)://host URL: check "
                             "scanning.dependencies.registry.pypi_index_url (or PIP_INDEX_URL)\n")


# --- dependencies no registry knows: workspace members, paths, git and URLs -------------------------------

NOT_FROM_A_REGISTRY = {
    "pyproject.toml": (
        '[project]\nname = "app"\ndependencies = [\n  "requests>=2",\n  "member",\n  "vendored",\n  "fork",\n'
        '  "wheel-at @ https://example.invalid/wheel-at-1.0-py3-none-any.whl",\n  "split",\n]\n'
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        '[tool.uv.sources]\nmember = { workspace = true }\nvendored = { path = "vendor/vendored", editable = true }\n'
        'fork = { git = "https://example.invalid/fork", rev = "abc" }\n'
        'split = [{ index = "internal", marker = "sys_platform == \'linux\'" },\n'
        '         { path = "split", marker = "sys_platform != \'linux\'" }]\n'
        '[tool.poetry.dependencies]\nlocal-poetry = { path = "../lp", develop = true }\n'
        'git-poetry = { git = "https://example.invalid/gp.git" }\n',
        {"requests", "split"}, {"member", "vendored", "fork", "wheel-at", "local-poetry", "git-poetry"}),
    "Pipfile": ('[packages]\nrequests = "*"\nmine = {path = ".", editable = true}\n'
                'theirs = {git = "https://example.invalid/t.git"}\n',
                {"requests"}, {"mine", "theirs"}),
    "uv.lock": ('[[package]]\nname = "idna"\nversion = "3.7"\n'
                'source = { registry = "https://example.invalid/simple" }\n\n'
                '[[package]]\nname = "strict-no-cover"\nversion = "0.1.1"\n'
                'source = { git = "https://example.invalid/strict-no-cover#7fc4b3" }\n\n'
                '[[package]]\nname = "member"\nversion = "0.0.0"\nsource = { editable = "packages/member" }\n',
                {"idna"}, {"strict-no-cover"}),
    "poetry.lock": ('[[package]]\nname = "certifi"\nversion = "2024.2.2"\n\n[package.source]\ntype = "legacy"\n'
                    'url = "https://example.invalid/simple"\nreference = "internal"\n\n'
                    '[[package]]\nname = "lib"\nversion = "0.1.0"\n\n'
                    '[package.source]\ntype = "directory"\nurl = "../lib"\n',
                    {"certifi"}, {"lib"}),
    "package.json": (json.dumps({"name": "app", "dependencies": {
                         "lodash": "^4.17.21", "alias": "npm:lodash@4", "ws-lib": "workspace:*", "here": "file:../here",
                         "gh": "owner/repo#v1.0.0", "via-git": "git+https://example.invalid/v.git",
                         "tarball": "https://example.invalid/t.tgz"}}, indent=2),
                     {"lodash", "alias"}, {"ws-lib", "here", "gh", "via-git", "tarball"}),
    "package-lock.json": (json.dumps({"lockfileVersion": 3, "packages": {
                              "node_modules/lodash": {"version": "4.17.21",
                                                      "resolved": "https://example.invalid/lodash/-/lodash-4.17.21.tgz"},
                              "node_modules/via-git": {"version": "1.0.0",
                                                       "resolved": "git+ssh://git@example.invalid/v.git#abc"},
                              "node_modules/ws-lib": {"resolved": "packages/ws-lib", "link": True}}}, indent=2),
                          {"lodash"}, {"via-git"}),
}


@pytest.mark.parametrize("name", sorted(NOT_FROM_A_REGISTRY))
def test_where_each_dependency_comes_from(name: str) -> None:
    text, registry, elsewhere = NOT_FROM_A_REGISTRY[name]
    found = parse_manifest(name, text)
    assert {key[1] for key, d in found.items() if d.from_registry} == registry
    assert {key[1] for key, d in found.items() if not d.from_registry} == elsewhere


@pytest.mark.parametrize("name", ["pyproject.toml", "Pipfile", "uv.lock", "poetry.lock", "package.json"])
def test_where_each_dependency_comes_from_in_lines_alone(name: str) -> None:
    # A diff's added lines: the source entries are lines of their own, read as such. In pyproject.toml a line
    # does not say its table, so a source entry does not speak for a requirement line of the same name (looked
    # up: fails closed).
    text, registry, elsewhere = NOT_FROM_A_REGISTRY[name]
    if name == "pyproject.toml":
        registry, elsewhere = registry | {"vendored", "fork", "member"}, elsewhere - {"vendored", "fork", "member"}
    found = parse_lines(name, text.splitlines())
    assert {key[1] for key, d in found.items() if not d.from_registry} == elsewhere & {key[1] for key in found}
    assert {key[1] for key, d in found.items() if d.from_registry} >= registry


def test_cargo_workspace_dependencies_are_read() -> None:
    text = ('[workspace]\nmembers = ["crates/*"]\n\n[workspace.dependencies]\nserde = "=1.0.200"\n'
            'inner = { path = "crates/inner" }\n')
    found = {key: (d.version, d.pinned) for key, d in parse_manifest("Cargo.toml", text).items()}
    assert found == {("cargo", "serde"): ("1.0.200", True)}


def _python_sdk_manifests() -> tuple[str, str, str]:
    folder = Path(__file__).parent / "assets" / "manifests"
    return tuple(  # type: ignore[return-value]
        (folder / f"python-sdk-4caa41f6d{part}").read_text() for part in
        ("-base.pyproject.toml", "-head.pyproject.toml", ".diff"))


def _offline_gate(tmp_path: Path) -> Gate:
    # Offline: a name missing from the snapshot counts as missing, so any lookup of the member would block.
    (tmp_path / "snapshot").write_text("pypi:tomli\n")
    return _gate("", tmp_path, {"offline": True, "snapshot": "snapshot"})


def test_a_real_workspace_member_from_the_diff_alone_is_looked_up(tmp_path: Path) -> None:
    # modelcontextprotocol/python-sdk 4caa41f6d adds its uv workspace member `mcp-example-stories` to a dependency
    # group; the same diff adds its `[tool.uv.sources]` entry. Recorded in tests/assets/manifests/SOURCES.md.
    # Lines alone do not say their table (`name = { workspace = true }` under [tool.notes] names no source), so
    # the line reader fails closed: the member, and the same diff's pyright path `"examples",` read as a
    # requirement, are looked up. --repo reads the whole files (next test).
    _, _, diff = _python_sdk_manifests()
    gate = _offline_gate(tmp_path)
    document = gate.input_document(pr=AI, diff=diff)
    status = {d.name: (d.change, d.registry.status) for d in document.dependencies}
    assert status == {"mcp-example-stories": ("added", "missing"), "tomli": ("added", "found"),
                      "examples": ("added", "missing")}


def test_a_real_workspace_member_is_no_hallucination_from_the_repository(tmp_path: Path) -> None:
    base, head, _ = _python_sdk_manifests()
    repo = tmp_path / "r"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "a@example.com")
    git("config", "user.name", "A")
    (repo / "pyproject.toml").write_text(base)
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "claude/stories")
    (repo / "pyproject.toml").write_text(head)
    git("commit", "-qam", "stories")
    gate = _offline_gate(tmp_path)
    document = gate.input_document(repo=repo, base="main", head="claude/stories")
    status = {d.name: (d.change, d.registry.status) for d in document.dependencies}
    assert status == {"mcp-example-stories": ("added", "unchecked"), "tomli": ("added", "found")}
    assert "hallucinated_package" not in _rules(gate.evaluate(document))
    # The member is still a dependency the other rules see: a deny list names it whatever its source.
    denied = _gate("", tmp_path, {"offline": True, "snapshot": "snapshot"}, deny=["mcp-example-stories"])
    assert "dependency_denied" in _rules(denied.evaluate(repo=repo, base="main", head="claude/stories"))


def test_a_registry_name_with_a_local_source_elsewhere_is_still_looked_up(tmp_path: Path) -> None:
    # Fails closed: when one manifest takes a name from the registry, it is looked up, whatever another says.
    gate = _offline_gate(tmp_path)
    diff = (_diff("pyproject.toml", ['mcp-example-stories = { workspace = true }']) +
            _diff("requirements.txt", ["mcp-example-stories==1.0"]))
    document = gate.input_document(pr=AI, diff=diff)
    assert [(d.name, d.registry.status) for d in document.dependencies] == [("mcp-example-stories", "missing")]


# Shapes that name another source but that the tools still fetch from the registry (a review's evasions):
# each must be looked up.
STILL_FROM_THE_REGISTRY = {
    "uv source for one platform": ("pyproject.toml", '[project]\nname = "app"\ndependencies = ["fastjson-utils>=1"]\n'
                                   '[tool.uv.sources]\nfastjson-utils = { path = "vendor/f", '
                                   'marker = "sys_platform == \'win32\'" }\n'),
    "npm devDependency from a folder": ("package.json", json.dumps({
        "name": "app", "dependencies": {"react-fast-hooks-x": "^1.2.0"},
        "devDependencies": {"react-fast-hooks-x": "file:./stubs/react-fast-hooks-x"}})),
    "a requirement and a Poetry path": ("pyproject.toml", '[project]\nname = "app"\n'
                                        'dependencies = ["fastjson-utils>=1"]\n[tool.poetry.group.dev.dependencies]\n'
                                        'fastjson-utils = { path = "stubs/f" }\n'),
    "Pipfile keys pipenv ignores": ("Pipfile", '[packages]\nfastjson-utils = { version = "*", workspace = true }\n'
                                    'yaml-speedups = { version = ">=1", url = "https://example.invalid/y" }\n'),
}
STILL_FROM_THE_REGISTRY_LINES = {
    "a path entry in another table": ['    "fastjson-utils>=1",', "[tool.notes]",
                                      'fastjson-utils = { path = "docs/fastjson-utils.md" }'],
    "a workspace entry in another table": ['    "fastjson-utils>=1",', "[tool.notes]",
                                           "fastjson-utils = { workspace = true }"],
    "a path inside a string": ['fastjson-utils = { version = "^1.0", markers = "platform_release != \',path=\'" }'],
}


@pytest.mark.parametrize("case", sorted(STILL_FROM_THE_REGISTRY))
def test_names_still_taken_from_the_registry_are_looked_up(case: str) -> None:
    name, text = STILL_FROM_THE_REGISTRY[case]
    found = parse_manifest(name, text)
    assert found and all(d.from_registry for d in found.values())


@pytest.mark.parametrize("case", sorted(STILL_FROM_THE_REGISTRY_LINES))
def test_names_still_taken_from_the_registry_are_looked_up_from_lines(case: str, tmp_path: Path) -> None:
    gate = _offline_gate(tmp_path)
    document = gate.input_document(pr=AI, diff=_diff("pyproject.toml", STILL_FROM_THE_REGISTRY_LINES[case]))
    assert [(d.name, d.registry.status) for d in document.dependencies] == [("fastjson-utils", "missing")]
    assert "hallucinated_package" in _rules(gate.evaluate(document))


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", '[tool.poetry.dependencies]\nwinhelper = { path = "packages/winhelper", develop = true, '
                       'markers = "sys_platform == \'win32\'" }\n'),
    ("Pipfile", '[packages]\nwinhelper = { path = "packages/winhelper", markers = "sys_platform == \'win32\'" }\n'),
])
def test_a_poetry_or_pipfile_marker_only_limits_where_a_path_entry_installs(name: str, text: str) -> None:
    # Unlike uv's sources, Poetry and pipenv never fall back to the index where the marker does not hold.
    assert [d.from_registry for d in parse_manifest(name, text).values()] == [False]
