"""Test counts from a JUnit XML file the sandboxed command wrote."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from aigate.errors import SandboxError
from aigate.sandbox.report import SandboxTests

__all__ = ["add", "summarise"]


def summarise(data: bytes, *, source: str) -> SandboxTests:
    """Count each <testcase> by its outcome element (pytest, JUnit, Go and Jest reports all nest them)."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as e:
        raise SandboxError(f"sandbox: {source}: not JUnit XML: {e}") from e
    if root.tag not in ("testsuites", "testsuite"):
        raise SandboxError(f"sandbox: {source}: not JUnit XML: root element is <{root.tag}>")
    tests = failures = errors = skipped = 0
    for case in root.iter("testcase"):
        tests += 1
        kinds = {child.tag for child in case}
        if "error" in kinds:
            errors += 1
        elif "failure" in kinds:
            failures += 1
        elif "skipped" in kinds:
            skipped += 1
    return SandboxTests(tests=tests, failures=failures, errors=errors, skipped=skipped)


def add(left: SandboxTests, right: SandboxTests) -> SandboxTests:
    return SandboxTests(
        tests=left.tests + right.tests,
        failures=left.failures + right.failures,
        errors=left.errors + right.errors,
        skipped=left.skipped + right.skipped,
    )
