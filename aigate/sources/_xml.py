"""XML reports (JUnit, Cobertura) parsed with defusedxml: entity expansion and external entities are refused,
so a hostile report cannot exhaust memory or read local files."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from aigate.errors import ScanError

__all__ = ["parse_xml"]


def parse_xml(text: str, source: str) -> Element:
    import defusedxml.ElementTree as SafeElementTree  # only when an XML report is read
    from defusedxml import DefusedXmlException

    try:
        root: Element = SafeElementTree.fromstring(text)
    except ParseError as e:
        line, column = getattr(e, "position", (0, 0))
        raise ScanError(source, f"invalid XML at line {line}, column {column}") from e
    except DefusedXmlException as e:
        raise ScanError(source, f"XML refused: {type(e).__name__} (entities and DTDs are not allowed)") from e
    return root
