"""Fixed catalogue behind the demo data: oblasts with real settlements, streets, facilities and their staff.

Settlement names, raions, postcode ranges and coordinates are public facts (approximate centres); the
facilities are fictional. Only the oblasts listed here are used, so every address, division and patient of
the demo lands in an oblast where a demo legal entity works.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Settlement:
    name: str
    type: str  # SETTLEMENT_TYPE dictionary code
    raion: str | None  # the address `region` field; None for Kyiv (city with special status)
    zip_from: int
    zip_to: int
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Oblast:
    katottg: str
    landline_code: str  # trunk code after +38, e.g. "044"; the rest of the 10 digits is the subscriber number
    birth_certificate_series: str  # two Cyrillic letters of the civil-registry series
    passport_issuer: str
    id_card_issuer: str  # ID cards carry a 4-digit authority code
    civil_registry: str
    settlements: tuple[Settlement, ...]


OBLASTS: dict[str, Oblast] = {
    o.katottg: o
    for o in (
        Oblast(
            katottg="UA80000000000093317",  # м. Київ
            landline_code="044",
            birth_certificate_series="КВ",
            passport_issuer="Печерським РУ ГУ МВС України в місті Києві",
            id_card_issuer="8031",
            civil_registry="Печерський районний у місті Києві відділ державної реєстрації актів цивільного стану",
            settlements=(Settlement("Київ", "CITY", None, 1001, 4128, 50.4501, 30.5234),),
        ),
        Oblast(
            katottg="UA46000000000026241",  # Львівська
            landline_code="032",
            birth_certificate_series="СГ",
            passport_issuer="Стрийським МВ УМВС України у Львівській області",
            id_card_issuer="4620",
            civil_registry="Стрийський відділ державної реєстрації актів цивільного стану у Львівській області",
            settlements=(
                Settlement("Стрий", "CITY", "Стрийський", 82400, 82432, 49.2622, 23.8561),
                Settlement("Львів", "CITY", "Львівський", 79000, 79071, 49.8397, 24.0297),
                Settlement("Дрогобич", "CITY", "Дрогобицький", 82100, 82111, 49.3497, 23.5069),
                Settlement("Моршин", "CITY", "Стрийський", 82482, 82484, 49.1556, 23.8717),
                Settlement("Дуліби", "VILLAGE", "Стрийський", 82461, 82461, 49.2156, 23.7997),
            ),
        ),
        Oblast(
            katottg="UA53000000000028050",  # Полтавська
            landline_code="0532",
            birth_certificate_series="КЕ",
            passport_issuer="Київським РВ ПМУ УМВС України в Полтавській області",
            id_card_issuer="5310",
            civil_registry="Полтавський міський відділ державної реєстрації актів цивільного стану",
            settlements=(
                Settlement("Полтава", "CITY", "Полтавський", 36000, 36043, 49.5883, 34.5514),
                Settlement("Кременчук", "CITY", "Кременчуцький", 39600, 39631, 49.0659, 33.4204),
                Settlement("Миргород", "CITY", "Миргородський", 37600, 37609, 49.9640, 33.6121),
                Settlement("Диканька", "SETTLEMENT", "Полтавський", 38500, 38502, 49.8206, 34.5322),
            ),
        ),
        Oblast(
            katottg="UA05000000000010236",  # Вінницька
            landline_code="0432",
            birth_certificate_series="АМ",
            passport_issuer="Ленінським РВ ВМУ УМВС України у Вінницькій області",
            id_card_issuer="0510",
            civil_registry="Вінницький міський відділ державної реєстрації актів цивільного стану",
            settlements=(
                Settlement("Вінниця", "CITY", "Вінницький", 21000, 21050, 49.2331, 28.4682),
                Settlement("Жмеринка", "CITY", "Жмеринський", 23100, 23107, 49.0370, 28.1090),
                Settlement("Козятин", "CITY", "Хмільницький", 22100, 22105, 49.7167, 28.8333),
                Settlement("Стрижавка", "SETTLEMENT", "Вінницький", 23205, 23205, 49.3106, 28.4836),
            ),
        ),
    )
}

# (STREET_TYPE code, name) — common street names found in most Ukrainian towns.
STREETS: tuple[tuple[str, str], ...] = (
    ("STREET", "Шевченка"),
    ("STREET", "Грушевського"),
    ("STREET", "Лесі Українки"),
    ("STREET", "Івана Франка"),
    ("STREET", "Соборна"),
    ("STREET", "Садова"),
    ("STREET", "Героїв Майдану"),
    ("STREET", "Центральна"),
    ("STREET", "Миру"),
    ("STREET", "Зелена"),
    ("STREET", "Українська"),
    ("STREET", "Шкільна"),
    ("AVENUE", "Незалежності"),
    ("AVENUE", "Свободи"),
    ("BOULEVARD", "Тараса Шевченка"),
    ("LANE", "Тихий"),
    ("LANE", "Вишневий"),
    ("SQUARE", "Ринок"),
)

SECRET_WORDS: tuple[str, ...] = (
    "калина",
    "барвінок",
    "соняшник",
    "вишиванка",
    "трембіта",
    "бандура",
    "веселка",
    "лелека",
    "криниця",
    "підсніжник",
)

# (institution, city) for party educations, by field.
MEDICAL_SCHOOLS: tuple[tuple[str, str], ...] = (
    ("Національний медичний університет імені О. О. Богомольця", "Київ"),
    ("Львівський національний медичний університет імені Данила Галицького", "Львів"),
    ("Полтавський державний медичний університет", "Полтава"),
    ("Вінницький національний медичний університет імені М. І. Пирогова", "Вінниця"),
)
PHARMACY_SCHOOLS: tuple[tuple[str, str], ...] = (("Національний фармацевтичний університет", "Харків"),)


@dataclass(frozen=True, slots=True)
class Staff:
    """One employee of a demo facility; `role` is the hint written to the accounts file."""

    role: str
    employee_type: str
    position: str  # POSITION dictionary code
    speciality: str | None = None
    division: int | None = 0  # index into the facility's divisions; None for staff without a division


@dataclass(frozen=True, slots=True)
class Facility:
    type: str
    region: str
    edrpou_base: str  # seven digits; the check digit is computed
    name: str
    short_name: str
    legal_form: str
    owner_property_type: str
    kveds: tuple[str, ...]
    settlement: int  # index into the oblast's settlements
    divisions: tuple[tuple[str, str, int], ...]  # (name, DIVISION_TYPE, settlement index)
    staff: tuple[Staff, ...] = field(default_factory=tuple)


_KNP = "Комунальне некомерційне підприємство"

FACILITIES: tuple[Facility, ...] = (
    # The first facility's EDRPOU marks the demo data as present (see seed.DEMO_MARKER_EDRPOU).
    Facility(
        type="PRIMARY_CARE",
        region="UA80000000000093317",
        edrpou_base="4199101",
        name=f"{_KNP} «Центр первинної медико-санітарної допомоги №1» Печерського району м. Києва",
        short_name="КНП «ЦПМСД №1» Печерського району",
        legal_form="150",
        owner_property_type="STATE",
        kveds=("86.21",),
        settlement=0,
        divisions=(
            ("Амбулаторія загальної практики — сімейної медицини №1", "CLINIC", 0),
            ("Амбулаторія загальної практики — сімейної медицини №2", "AMBULANT_CLINIC", 0),
        ),
        staff=(
            Staff("owner", "OWNER", "P2", division=None),
            Staff("family_doctor", "DOCTOR", "P7", "FAMILY_DOCTOR", 0),
            Staff("family_doctor", "DOCTOR", "P7", "FAMILY_DOCTOR", 1),
            Staff("therapist", "DOCTOR", "P8", "THERAPIST", 0),
            Staff("pediatrician", "DOCTOR", "P9", "PEDIATRICIAN", 1),
        ),
    ),
    Facility(
        type="PRIMARY_CARE",
        region="UA46000000000026241",
        edrpou_base="4199102",
        name=f"{_KNP} «Центр первинної медико-санітарної допомоги №1» Стрийської міської ради",
        short_name="КНП «ЦПМСД №1» Стрийської міської ради",
        legal_form="150",
        owner_property_type="STATE",
        kveds=("86.21",),
        settlement=0,
        divisions=(
            ("Амбулаторія загальної практики — сімейної медицини м. Стрий", "CLINIC", 0),
            ("Фельдшерсько-акушерський пункт с. Дуліби", "FAP", 4),
        ),
        staff=(
            Staff("owner", "OWNER", "P2", division=None),
            Staff("family_doctor", "DOCTOR", "P7", "FAMILY_DOCTOR", 0),
            Staff("family_doctor", "DOCTOR", "P7", "FAMILY_DOCTOR", 1),
            Staff("pediatrician", "DOCTOR", "P11", "PEDIATRICIAN", 0),
        ),
    ),
    Facility(
        type="PRIMARY_CARE",
        region="UA53000000000028050",
        edrpou_base="4199103",
        name=f"{_KNP} «Центр первинної медико-санітарної допомоги №2» Полтавської міської ради",
        short_name="КНП «ЦПМСД №2» Полтавської міської ради",
        legal_form="150",
        owner_property_type="STATE",
        kveds=("86.21",),
        settlement=0,
        divisions=(
            ("Амбулаторія загальної практики — сімейної медицини №3", "CLINIC", 0),
            ("Амбулаторія загальної практики — сімейної медицини смт Диканька", "AMBULANT_CLINIC", 3),
        ),
        staff=(
            Staff("owner", "OWNER", "P1", division=None),
            Staff("family_doctor", "DOCTOR", "P7", "FAMILY_DOCTOR", 1),
            Staff("therapist", "DOCTOR", "P10", "THERAPIST", 0),
            Staff("pediatrician", "DOCTOR", "P9", "PEDIATRICIAN", 0),
        ),
    ),
    Facility(
        type="OUTPATIENT",
        region="UA05000000000010236",
        edrpou_base="4199104",
        name=f"{_KNP} «Консультативно-діагностичний центр» Вінницької міської ради",
        short_name="КНП «КДЦ» Вінницької міської ради",
        legal_form="150",
        owner_property_type="STATE",
        kveds=("86.22", "86.90"),
        settlement=0,
        divisions=(("Консультативно-діагностичне відділення", "CLINIC", 0),),
        staff=(
            Staff("owner", "OWNER", "P1", division=None),
            Staff("specialist", "SPECIALIST", "P6", "CARDIOLOGY", 0),
        ),
    ),
    Facility(
        type="OUTPATIENT",
        region="UA46000000000026241",
        edrpou_base="4199105",
        name="Товариство з обмеженою відповідальністю «Медичний центр «Родинне здоров’я»",
        short_name="ТОВ «МЦ «Родинне здоров’я»",
        legal_form="240",
        owner_property_type="PRIVATE",
        kveds=("86.22",),
        settlement=1,
        divisions=(("Медичний центр «Родинне здоров’я» — Львів", "AMBULANT_CLINIC", 1),),
        staff=(
            Staff("owner", "OWNER", "P4", division=None),
            Staff("specialist", "SPECIALIST", "P6", "NEUROLOGY", 0),
        ),
    ),
    Facility(
        type="PHARMACY",
        region="UA80000000000093317",
        edrpou_base="4199106",
        name="Товариство з обмеженою відповідальністю «Аптека «Калина»",
        short_name="ТОВ «Аптека «Калина»",
        legal_form="240",
        owner_property_type="PRIVATE",
        kveds=("47.73",),
        settlement=0,
        divisions=(
            ("Аптека «Калина» №1", "DRUGSTORE", 0),
            ("Аптечний пункт «Калина» при ЦПМСД №1", "DRUGSTORE_POINT", 0),
        ),
        staff=(
            Staff("pharmacy_owner", "PHARMACY_OWNER", "P4", division=None),
            Staff("pharmacist", "PHARMACIST", "P20", "PHARMACIST", 0),
            Staff("pharmacist", "PHARMACIST", "P16", "PROVISOR", 1),
        ),
    ),
    Facility(
        type="PHARMACY",
        region="UA53000000000028050",
        edrpou_base="4199107",
        name="Товариство з обмеженою відповідальністю «Полтавафарм-Демо»",
        short_name="ТОВ «Полтавафарм-Демо»",
        legal_form="240",
        owner_property_type="PRIVATE",
        kveds=("47.73",),
        settlement=0,
        divisions=(("Аптека «Полтавафарм» №7", "DRUGSTORE", 0),),
        staff=(
            Staff("pharmacy_owner", "PHARMACY_OWNER", "P4", division=None),
            Staff("pharmacist", "PHARMACIST", "P20", "PHARMACIST", 0),
        ),
    ),
)

# Patients per oblast: those of Vinnytsia have no primary-care facility in the demo, hence no declaration.
PERSONS_PER_OBLAST: dict[str, int] = {
    "UA80000000000093317": 120,
    "UA46000000000026241": 80,
    "UA53000000000028050": 70,
    "UA05000000000010236": 30,
}

# (min age, max age exclusive, share): a rough Ukrainian age pyramid, children over-weighted for the pediatricians.
AGE_BUCKETS: tuple[tuple[int, int, float], ...] = (
    (0, 6, 0.08),
    (6, 14, 0.10),
    (14, 18, 0.05),
    (18, 40, 0.27),
    (40, 65, 0.32),
    (65, 96, 0.18),
)
