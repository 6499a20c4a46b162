"""Ukrainian Cyrillic → Latin (the official KMU-55 table of 2010) and wrong-keyboard-layout forms.

Used to find a user's own data in a password whichever way it was typed: `Шевченко`, `shevchenko`,
or `itdxtyrj` (the same keys pressed with the Latin layout on).
"""

# Letters whose Latin form differs at the start of a word (KMU-55: Єнакієве → Yenakiieve).
_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_KMU55 = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
    # Russian letters, common in names typed by habit
    "ы": "y", "э": "e", "ё": "io", "ъ": "",
}  # fmt: skip

# The ЙЦУКЕН key → the QWERTY key in the same place.
_CYR_KEYS = "йцукенгшщзхїфівапролджєячсмитьбюыэъё'"
_LAT_KEYS = "qwertyuiop[]asdfghjkl;'zxcvbnm,.s']`'"
_TO_LATIN_LAYOUT = dict(zip(_CYR_KEYS, _LAT_KEYS, strict=True))
_TO_CYRILLIC_LAYOUT = {
    lat: cyr for cyr, lat in zip("йцукенгшщзхїфівапролджєячсмитьбю", "qwertyuiop[]asdfghjkl;'zxcvbnm,.", strict=True)
}


def kmu55(text: str) -> str:
    """Latin transliteration by the KMU-55 rules (lower case in, lower case out)."""
    out: list[str] = []
    for i, ch in enumerate(text):
        at_start = i == 0 or not text[i - 1].isalpha()
        if ch == "г" and i > 0 and text[i - 1] == "з":
            out.append("gh")  # зг → zgh, so that it doesn't read as "zh"
        elif at_start and ch in _INITIAL:
            out.append(_INITIAL[ch])
        else:
            out.append(_KMU55.get(ch, ch))
    return "".join(out)


def to_latin_layout(text: str) -> str:
    """What Cyrillic text becomes when typed with the Latin layout on (шевченко → itdxtyrj)."""
    return "".join(_TO_LATIN_LAYOUT.get(ch, ch) for ch in text)


def to_cyrillic_layout(text: str) -> str:
    """What Latin text becomes when typed with the Ukrainian layout on (taras → ефкфі)."""
    return "".join(_TO_CYRILLIC_LAYOUT.get(ch, ch) for ch in text)


def variants(text: str) -> set[str]:
    """The text as written, transliterated, and typed in the wrong layout (all lower case)."""
    low = text.lower()
    latin = kmu55(low)
    # as written, transliterated, and each typed with the other layout on (тарас → nfhfc, taras → ефкфі)
    forms = {low, latin, to_latin_layout(low), to_cyrillic_layout(latin)}
    return {f for f in forms if f}
