"""The central password policy: every rule is a hard check with its own error type.

Order (the first failing rule answers): length → the user's own data → common or breached →
sequences and repeats → composition (upper, lower, digit; Latin or Cyrillic) → reuse of the last N →
zxcvbn strength. The checks run on the NFKC form, case-insensitively where it matters; the password
itself is never logged or audited, only the rule that refused it.
"""

import re
import string
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from esoz.core.errors import ApiError, invalid_entry
from esoz.identity.passwords import normalize
from esoz.identity.translit import to_latin_layout, variants
from esoz.settings import Settings

_COMMON_FILE = Path(__file__).parent / "data" / "common-uk.txt"
_LOWER = re.compile(r"[a-zа-яёїієґ]")
_UPPER = re.compile(r"[A-ZА-ЯЁЇІЄҐ]")
_DIGIT = re.compile(r"\d")
# Rows of the keyboard, both layouts: a run along one of them counts as a sequence.
_RUNS = (
    string.ascii_lowercase,
    string.digits,
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "йцукенгшщзхї",
    "фівапролджє",
    "ячсмитьбю",
)
SEQUENCE_MIN = 4  # "1234", "abcd", "aaaa", "qwer": four in a row is refused, three is not


@dataclass(frozen=True, slots=True)
class Rule:
    type: str
    message: str  # the API's (English, as the real system's errors)
    text_uk: str  # what the sign-in pages say


RULES = {
    r.type: r
    for r in (
        Rule(
            "password_too_short",
            "Password is shorter than {min} characters",
            "Пароль має містити щонайменше {min} символів.",
        ),
        Rule(
            "password_too_long",
            "Password is longer than {max} characters",
            "Пароль не може бути довшим за {max} символів.",
        ),
        Rule(
            "password_breached_or_common",
            "Password is too common or was found in a data breach",
            "Цей пароль надто поширений або потрапив у витоки даних. Оберіть інший.",
        ),
        Rule(
            "password_contains_personal_info",
            "Password must not contain your name, birth date, e-mail, phone or tax id",
            "Пароль не може містити ваше прізвище, ім'я, по батькові, дату народження, e-mail, телефон чи РНОКПП "
            "(зокрема латиницею або в іншій розкладці).",
        ),
        Rule(
            "password_sequence",
            "Password must not contain sequences or repeats such as 1234, abcd, qwer or aaaa",
            "Пароль не може містити послідовностей чи повторів (1234, abcd, йцук, аааа).",
        ),
        Rule(
            "password_complexity",
            "Password does not meet complexity requirements",
            "Пароль має містити великі й малі літери (латиниця або кирилиця) та цифру.",
        ),
        Rule(
            "password_recently_used",
            "This password has been used recently. Try another one",
            "Цей пароль уже використовувався нещодавно. Оберіть інший.",
        ),
        Rule(
            "password_too_weak",
            "Password is too easy to guess",
            "Пароль надто легко вгадати. Додайте ще кілька слів або символів.",
        ),
    )
}


class PasswordRejected(ApiError):
    def __init__(self, rule_type: str, entry: str = "$.password", **params: object) -> None:
        rule = RULES[rule_type]
        message = rule.message.format(**params)
        super().__init__(422, rule_type, message, [invalid_entry(entry, rule_type, message, params or [])])
        self.rule = rule
        self.params = params

    @property
    def text_uk(self) -> str:
        return self.rule.text_uk.format(**self.params)


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What a user's password must not contain."""

    names: tuple[str, ...] = ()  # surname, first name, patronymic
    birth_date: date | None = None
    email: str | None = None
    phones: tuple[str, ...] = ()
    tax_id: str | None = None
    extra: tuple[str, ...] = field(default_factory=tuple)  # documents, etc.


@cache
def common_passwords() -> frozenset[str]:
    words = set(FREQUENCY_LISTS["passwords"])
    for line in _COMMON_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip().lower()
        if line and not line.startswith("#"):
            words.add(line)
            words.add(to_latin_layout(line))  # пароль typed with the Latin layout = gfhjkm
    return frozenset(words)


def _is_run(chunk: str) -> bool:
    if len(set(chunk)) == 1:
        return True
    for row in _RUNS:
        if chunk in row or chunk[::-1] in row:
            return True
    return False


def _has_sequence(low: str) -> bool:
    return any(_is_run(low[i : i + SEQUENCE_MIN]) for i in range(len(low) - SEQUENCE_MIN + 1))


def _is_common(low: str) -> bool:
    """Listed itself, or made of at most two listed pieces / runs plus at most two other characters
    (qwerty123456, йцукен123456, Password2024!); longer passphrases of common words pass to zxcvbn."""
    common = common_passwords()
    if low in common:
        return True
    n = len(low)
    # reach[i] = the (pieces, loose characters) pairs, each at most 2, that can cover low[:i]
    reach: list[set[tuple[int, int]]] = [set() for _ in range(n + 1)]
    reach[0].add((0, 0))
    for i in range(n):
        for pieces, loose in reach[i]:
            if loose < 2:
                reach[i + 1].add((pieces, loose + 1))
            if pieces < 2:
                for j in range(i + 3, min(n, i + 32) + 1):
                    chunk = low[i:j]
                    if chunk in common or _is_run(chunk):
                        reach[j].add((pieces + 1, loose))
    return any(pieces >= 1 for pieces, _ in reach[n])


def _date_forms(born: date) -> set[str]:
    d, m, y = f"{born.day:02d}", f"{born.month:02d}", f"{born.year:04d}"
    yy = y[2:]
    forms = {y}
    for sep in ("", ".", "-", "/", " "):
        for parts in ((d, m, y), (d, m, yy), (y, m, d), (yy, m, d), (m, d, y), (d, m), (y, m, d)):
            forms.add(sep.join(parts))
    return forms


def personal_words(data: PersonalData) -> set[str]:
    words: set[str] = set()
    for name in (*data.names, *data.extra):
        if name and len(name.strip()) >= 3:
            words |= {v for v in variants(name.strip()) if len(v) >= 3}
    if data.email:
        local = data.email.split("@", 1)[0].lower()
        words |= {local} if len(local) >= 3 else set()
        words |= {p for p in re.split(r"[._+\-]", local) if len(p) >= 3}
    for phone in data.phones:
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 7:
            words |= {digits, digits[-10:], digits[-9:], digits[-7:]}
    if data.tax_id:
        words |= {v for v in variants(data.tax_id.strip()) if len(v) >= 3}
    if data.birth_date:
        words |= _date_forms(data.birth_date)
    return words


def zxcvbn_inputs(data: PersonalData) -> list[str]:
    return sorted(personal_words(data))


def check_password(password: str, data: PersonalData, settings: Settings) -> None:
    """Raise PasswordRejected for the first rule the password breaks (history is checked by the service)."""
    pw = normalize(password)
    if len(pw) < settings.password_min_length:
        raise PasswordRejected("password_too_short", min=settings.password_min_length)
    if len(pw) > settings.password_max_length:
        raise PasswordRejected("password_too_long", max=settings.password_max_length)
    low = pw.lower()
    compact = re.sub(r"\s+", "", low)
    if any(word in low or word in compact for word in personal_words(data)):
        raise PasswordRejected("password_contains_personal_info")
    if _is_common(low):
        raise PasswordRejected("password_breached_or_common")
    if _has_sequence(low):
        raise PasswordRejected("password_sequence")
    if settings.password_require_classes and not (_LOWER.search(pw) and _UPPER.search(pw) and _DIGIT.search(pw)):
        raise PasswordRejected("password_complexity")


def check_strength(password: str, data: PersonalData, settings: Settings) -> None:
    if settings.password_min_zxcvbn_score <= 0:
        return
    # zxcvbn refuses inputs over 72 characters; a longer password is scored on its first 72.
    result = zxcvbn(normalize(password)[:72], user_inputs=zxcvbn_inputs(data))
    if result["score"] < settings.password_min_zxcvbn_score:
        raise PasswordRejected("password_too_weak")
