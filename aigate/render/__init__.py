"""Output formats for decisions."""

from __future__ import annotations

from aigate.render.github import GithubAnnotationsRenderer
from aigate.render.gitlab import GitlabCodeQualityRenderer
from aigate.render.interface import Renderer
from aigate.render.json import JsonRenderer
from aigate.render.junit import JunitRenderer
from aigate.render.markdown import MarkdownRenderer
from aigate.render.sarif import SarifRenderer

__all__ = ["RENDERERS", "Renderer"]

RENDERERS: dict[str, type[Renderer]] = {
    r.name: r
    for r in (
        JsonRenderer,
        MarkdownRenderer,
        SarifRenderer,
        JunitRenderer,
        GithubAnnotationsRenderer,
        GitlabCodeQualityRenderer,
    )
}
