"""Renderers turn a decision into text for a host: JSON for machines, Markdown for PR comments."""

from __future__ import annotations

from abc import ABC, abstractmethod

from aigate.models import Decision

__all__ = ["Renderer"]


class Renderer(ABC):
    name: str

    @abstractmethod
    def render(self, decision: Decision) -> str:
        """The whole output, ending with a newline."""
