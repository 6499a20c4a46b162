"""The shipped demo dictionaries of medical records (data/codes.json): what a code in a package may be."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "codes.json"


@dataclass(frozen=True, slots=True)
class Codes:
    """One dictionary: the systems its codes are written with and code -> Ukrainian name."""

    systems: tuple[str, ...]
    names: dict[str, str]

    def allows(self, system: str, code: str) -> bool:
        return system in self.systems and code in self.names


@dataclass(frozen=True, slots=True)
class Dictionaries:
    episode_types: Codes
    encounter_classes: Codes
    encounter_types: Codes
    icd10: Codes
    icpc2: Codes
    observation_codes: Codes
    vaccine_codes: Codes
    allergy_intolerance_codes: Codes

    def diagnosis(self, system: str, code: str) -> bool:
        """A condition's code: ICD-10 or ICPC-2."""
        return self.icd10.allows(system, code) or self.icpc2.allows(system, code)


@cache
def load() -> Dictionaries:
    raw = json.loads(DATA.read_text(encoding="utf-8"))

    def codes(name: str) -> Codes:
        entry = raw[name]
        systems = tuple(entry["systems"]) if "systems" in entry else (entry["system"],)
        return Codes(systems, dict(entry["codes"]))

    return Dictionaries(**{name: codes(name) for name in Dictionaries.__slots__})
