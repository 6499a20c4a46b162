"""Atom feed (RFC 4287) of incident updates and planned maintenance, built with ElementTree (escapes for us)."""

from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from esoz.core import clock
from esoz.status.components import COMPONENTS, INCIDENT_STATUSES
from esoz.status.timefmt import kyiv

ATOM = "http://www.w3.org/2005/Atom"


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    el.text = value
    return el


def _entry(feed: ET.Element, *, id_: str, title: str, updated: datetime, link: str, summary: str) -> None:
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "id", id_)
    _text(entry, "title", title)
    _text(entry, "updated", updated.isoformat())
    ET.SubElement(entry, f"{{{ATOM}}}link", {"href": link, "rel": "alternate"})
    _text(entry, "summary", summary)


def atom(base_url: str, incidents: list[dict[str, Any]], maintenance: list[dict[str, Any]]) -> bytes:
    ET.register_namespace("", ATOM)
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "uk"})
    _text(feed, "id", f"{base}/status/feed.atom")
    _text(feed, "title", "Стан центральної бази даних eHealth")
    ET.SubElement(feed, f"{{{ATOM}}}link", {"href": f"{base}/status/feed.atom", "rel": "self"})
    ET.SubElement(feed, f"{{{ATOM}}}link", {"href": f"{base}/status", "rel": "alternate"})
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "esoz")
    entries: list[dict[str, Any]] = []
    for inc in incidents:
        names = ", ".join(COMPONENTS[c] for c in inc["components"])
        for upd in inc["updates"]:
            entries.append(
                {
                    "id_": f"urn:uuid:{upd['id']}",
                    "title": f"{inc['title']} — {INCIDENT_STATUSES[upd['status']]}",
                    "updated": upd["created_at"],
                    "link": f"{base}/status/incidents/{inc['id']}",
                    "summary": f"{upd['body']} (компоненти: {names})",
                }
            )
    for m in maintenance:
        entries.append(
            {
                "id_": f"urn:uuid:{m['id']}",
                "title": f"Планові роботи: {m['title']}",
                "updated": m["starts_at"],
                "link": f"{base}/status#maintenance",
                "summary": f"{kyiv(m['starts_at'])} — {kyiv(m['ends_at'])} (Київ). {m['description']}",
            }
        )
    entries.sort(key=lambda e: e["updated"], reverse=True)
    latest = entries[0]["updated"] if entries else clock.now()
    _text(feed, "updated", latest.isoformat())
    for e in entries[:100]:
        _entry(feed, **e)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
