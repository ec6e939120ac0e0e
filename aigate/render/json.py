"""Stable JSON: fields in model order, two-space indent, UTF-8 kept as is."""

from __future__ import annotations

from aigate.models import Decision
from aigate.render.interface import Renderer

__all__ = ["JsonRenderer"]


class JsonRenderer(Renderer):
    name = "json"

    def render(self, decision: Decision) -> str:
        return decision.model_dump_json(indent=2) + "\n"
