"""Output formats for decisions."""

from __future__ import annotations

from aigate.render.interface import Renderer
from aigate.render.json import JsonRenderer
from aigate.render.markdown import MarkdownRenderer

__all__ = ["RENDERERS", "Renderer"]

RENDERERS: dict[str, type[Renderer]] = {r.name: r for r in (JsonRenderer, MarkdownRenderer)}
