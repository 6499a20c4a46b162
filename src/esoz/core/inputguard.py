"""Text that PostgreSQL cannot store, or that no field of the contract carries, is refused before routing.

A NUL byte in a string makes PostgreSQL fail the statement, and a lone UTF-16 surrogate cannot be encoded for it:
either would surface as a server error from deep inside a handler. No field of the contract needs the other control
characters either, so all of them are refused here, once, for the query string, the path and every string of a JSON
or form body (keys included), with a 422 naming the entry. Text fields of a body keep tab, line feed and carriage
return (descriptions and addresses are multi-line); query and path values never need them.

JSON bodies are also refused when they hold a number that is not finite (`NaN`, `Infinity`, or one too large for a
double) or an integer beyond 64 bits: the parser FastAPI uses accepts them, and neither a column nor the JSONB
encoder takes them. Numbers of typed fields are bounded by their own columns (core/numeric.py).

Cost: the query string, the path and each JSON body get one regex scan; a body is parsed here only when that scan
finds a suspicious escape, which ordinary requests never carry.
"""

import json
import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

from esoz.core.errors import ENTRY_JSON, ENTRY_PATH, ENTRY_QUERY, invalid_entry

RULE = "format"
CONTROL_DESCRIPTION = "must not contain control characters"
NON_FINITE_DESCRIPTION = "must be a finite number"
TOO_LARGE_DESCRIPTION = "must fit a 64-bit integer"
INT64 = (-(2**63), 2**63 - 1)
MAX_ENTRIES = 20

# Every C0 and C1 control character and DEL (Unicode category Cc), and lone surrogates.
_STRICT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same without tab, line feed and carriage return: body text may span lines.
_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In UTF-8 bytes: C0, DEL, and C1 (U+0080..U+009F are encoded as C2 80..C2 9F).
_STRICT_BYTES = re.compile(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]")
# What a JSON body must contain to hold anything refused here: an escaped control character or surrogate, a raw
# DEL or C1 character, or a value that is a non-finite literal, a number with an exponent of three digits (1e400
# parses as infinity) or an integer of 19 digits or more. Values start after `:`, `,` or `[`, so base64 text (which
# has none of those) does not set it off.
_JSON_SUSPECT = re.compile(
    rb"\\u(?:00[01]|007[fF]|00[89]|[dD][89a-fA-F])|\x7f|\xc2[\x80-\x9f]"
    rb"|[:,\[]\s*-?(?:NaN|Infinity|[0-9.]+[eE]\+?[0-9]{3}|[0-9]{19})"
)


class _NonFinite:
    """What the JSON parser gives for NaN / Infinity here, so the walk can name where it was."""


def _shown(name: str) -> str:
    """A name as it may appear in an error entry: without the characters being refused."""
    return _STRICT.sub("\ufffd", name)


def query_problems(query_string: bytes) -> list[dict[str, Any]]:
    """Invalid entries for query parameters whose name or value holds a control character."""
    if not query_string or (b"%" not in query_string and not _STRICT_BYTES.search(query_string)):
        return []
    found = []
    for pair in query_string.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        value = unquote_to_bytes(raw_value.replace(b"+", b" "))
        if _STRICT_BYTES.search(name) or _STRICT_BYTES.search(value):
            shown = _shown(name.decode("utf-8", "replace"))
            found.append(invalid_entry(f"$.{shown}", RULE, CONTROL_DESCRIPTION, entry_type=ENTRY_QUERY))
    return found[:MAX_ENTRIES]


def path_problems(scope: Scope) -> list[dict[str, Any]]:
    """An invalid entry naming the path parameter that holds a control character (`$.path` when no documented
    route has that parameter)."""
    path = scope["path"]
    if not _STRICT.search(path):
        return []
    entry = "$.path"
    for template in _path_templates(scope.get("app")):
        found = template.match(path)
        if found:
            named = [name for name, value in found.groupdict().items() if _STRICT.search(value)]
            if named:
                entry = f"$.{named[0]}"
                break
    return [invalid_entry(entry, RULE, CONTROL_DESCRIPTION, entry_type=ENTRY_PATH)]


def _path_templates(app: Any) -> list[re.Pattern[str]]:
    """The documented paths (/openapi.json) as patterns, built once per app on the first refused path."""
    state = getattr(app, "state", None)
    if state is None or not hasattr(app, "openapi"):
        return []
    templates = getattr(state, "path_templates", None)
    if templates is None:
        templates = []
        for path in app.openapi().get("paths", {}):
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            templates.append(re.compile(f"^{pattern}$", re.DOTALL))
        state.path_templates = templates
    return templates


def form_problems(body: bytes) -> list[dict[str, Any]]:
    """Invalid entries for fields of an HTML form body (application/x-www-form-urlencoded)."""
    found = []
    for pair in body.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8", "replace")
        value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8", "replace")
        if _STRICT.search(name) or _TEXT.search(value):
            found.append(invalid_entry(f"$.{_shown(name)}", RULE, CONTROL_DESCRIPTION, entry_type=ENTRY_JSON))
    return found[:MAX_ENTRIES]


def json_problems(body: bytes) -> list[dict[str, Any]]:
    """Invalid entries for strings with control characters and numbers that are not finite in a JSON body.

    A body that is not JSON at all yields nothing: the body parser answers it with its own error.
    """
    if not _JSON_SUSPECT.search(body):
        return []
    try:
        data = json.loads(body, parse_constant=lambda _: _NonFinite())
    except ValueError:
        return []
    found: list[dict[str, Any]] = []
    _walk(data, "$", found)
    return found[:MAX_ENTRIES]


def _walk(value: Any, path: str, found: list[dict[str, Any]]) -> None:
    if len(found) >= MAX_ENTRIES:
        return
    if isinstance(value, str):
        if _TEXT.search(value):
            found.append(invalid_entry(path, RULE, CONTROL_DESCRIPTION))
    elif isinstance(value, _NonFinite) or (isinstance(value, float) and not math.isfinite(value)):
        found.append(invalid_entry(path, "number", NON_FINITE_DESCRIPTION))
    elif isinstance(value, int) and not isinstance(value, bool) and not INT64[0] <= value <= INT64[1]:
        found.append(invalid_entry(path, "number", TOO_LARGE_DESCRIPTION, {"min": INT64[0], "max": INT64[1]}))
    elif isinstance(value, dict):
        for key, item in value.items():
            if _STRICT.search(key):
                found.append(invalid_entry(f"{path}.{_shown(key)}", RULE, CONTROL_DESCRIPTION))
            else:
                _walk(item, f"{path}.{key}", found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", found)
