"""What a saved view must be: a standalone, well-formed SVG file, or a PNG (shared by the unit and browser tests)."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

__all__ = ["SVG", "check_png", "check_svg", "svg_text"]

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_svg(text: str) -> ET.Element:
    """The file's root element, after checking that it is well-formed XML (an SVG with a viewBox) that names
    no external resource: no link, script, style sheet, image or foreign object, no URL but its own url(#id),
    and none of the page's classes, styles, ARIA or data attributes (its colours are written out)."""
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'), text[:120]
    root = ET.fromstring(text.split("\n", 1)[1])                    # raises if not well-formed
    assert root.tag == f"{SVG}svg" and re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", "")), root.attrib
    names = {e.tag.removeprefix(SVG) for e in root.iter()}
    assert not names & {"image", "foreignObject", "script", "style", "use", "a", "feImage"}, names
    assert not re.search(r"href|@import|url\((?!#)", text), "a reference to another file"
    assert re.findall(r"https?://[^\s\"]*", text) == ["http://www.w3.org/2000/svg"]   # the namespace: a name, not fetched
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    assert set(re.findall(r"url\(#([\w-]+)\)", text)) <= ids, "a url(#id) with no such id in the file"
    attributes = {a for e in root.iter() for a in e.attrib}
    page_only = {a for a in attributes if a in ("class", "style", "tabindex", "role") or a.startswith(("aria-", "data-"))}
    assert not page_only, page_only
    assert not re.search(r"rgba?\(|color\(|var\(", text), "a colour not written out as #rrggbb"
    return root


def svg_text(root: ET.Element) -> str:
    """All the text of the picture, its lines joined by spaces."""
    return " ".join(" ".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def check_png(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking its signature and its header chunk."""
    assert data[:8] == PNG_SIGNATURE, data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])
