"""Business checks every signed flow reuses: the signer is the doctor, the content is the draft.

Statuses follow the real IL (`Core.Validators.Signature`, `Core.Validators.Content`): a mismatch is a
422 validation error on a JSON path, not a 409 (security.md suggested 409; the contract wins).
"""

from __future__ import annotations

from typing import Any

import orjson

from esoz.core.errors import ValidationFailed, invalid_entry
from esoz.signatures.certinfo import Signer

DRFO_MISMATCH = "Does not match the signer drfo"
INVALID_DRFO = "Invalid drfo"
LAST_NAME_MISMATCH = "Does not match the signer last name"
CONTENT_MISMATCH = "Signed content does not match the previously created content"

# Ukrainian national transliteration as the real system's `Translit` (edenlabllc/translit) does it;
# word-initial and in-word forms are not distinguished there either.
_UKR = {
    "А": "A", "Б": "B", "В": "V", "Г": "H", "Ґ": "G", "Д": "D", "Е": "E", "Є": "Ye", "Ж": "Zh", "З": "Z",
    "И": "Y", "І": "I", "Ї": "Yi", "Й": "Y", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P",
    "Р": "R", "С": "S", "Т": "T", "У": "U", "Ф": "F", "Х": "Kh", "Ц": "Ts", "Ч": "Ch", "Ш": "Sh",
    "Щ": "Shch", "Ю": "Yu", "Я": "Ya",
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ю": "iu", "я": "ia",
    "ь": "", "Ь": "", "'": "",
}  # fmt: skip


def translit(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in "Гг" and out and out[-1] in ("z", "Z"):
            out.append("GH" if ch == "Г" else "gh")  # "зг" -> "zgh", as the original
        else:
            out.append(_UKR.get(ch, ch))
    return "".join(out)


def drfo_matches(drfo: str, tax_id: str) -> bool:
    """Equal, or equal after transliteration and upper-casing: a passport-series DRFO such as
    `ЯЯ999998` (people without a РНОКПП) may be stored in either script."""
    drfo = drfo.replace(" ", "")
    return tax_id == drfo or translit(tax_id).upper() == translit(drfo).upper()


def check_signer_drfo(signer: Signer | None, tax_id: str | None, *, entry: str = "$.signed_data") -> None:
    if signer is None or not signer.drfo:
        raise ValidationFailed([invalid_entry(entry, "invalid", INVALID_DRFO)])
    if not tax_id or not drfo_matches(signer.drfo, tax_id):
        raise ValidationFailed([invalid_entry(entry, "invalid", DRFO_MISMATCH)])


def check_signer_last_name(signer: Signer | None, last_name: str | None, *, entry: str = "$.signed_data") -> None:
    surname = (signer.surname if signer else None) or ""
    if not last_name or surname.strip().casefold() != last_name.strip().casefold():
        raise ValidationFailed([invalid_entry(entry, "invalid", LAST_NAME_MISMATCH)])


def _same(a: Any, b: Any) -> bool:
    # Python has True == 1 and 1 == 1.0; JSON has neither bool/number confusion: compare kinds too.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def content_differences(signed: Any, rendered: Any, path: str = "$") -> list[str]:
    """JSON paths where the signed content and the server's render differ."""
    if isinstance(signed, dict) and isinstance(rendered, dict):
        diffs: list[str] = []
        for key in sorted(set(signed) | set(rendered), key=str):
            if key not in signed or key not in rendered:
                diffs.append(f"{path}.{key}")
            else:
                diffs.extend(content_differences(signed[key], rendered[key], f"{path}.{key}"))
        return diffs
    if isinstance(signed, list) and isinstance(rendered, list):
        if len(signed) != len(rendered):
            return [path]
        diffs = []
        for i, (a, b) in enumerate(zip(signed, rendered, strict=True)):
            diffs.extend(content_differences(a, b, f"{path}[{i}]"))
        return diffs
    return [] if _same(signed, rendered) else [path]


def check_content(signed: Any, rendered: Any, *, entry: str = "$.content") -> None:
    """Signed JSON must equal the render of the stored draft (parsed, so key order and whitespace
    don't matter). `rendered` may hold UUIDs/datetimes: it is put through JSON as the API does."""
    normalized = orjson.loads(orjson.dumps(rendered, option=orjson.OPT_NON_STR_KEYS))
    diffs = content_differences(signed, normalized)
    if diffs:
        raise ValidationFailed([invalid_entry(entry, "invalid", CONTENT_MISMATCH, params=diffs)])
