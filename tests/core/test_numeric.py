"""core.numeric: a schema number is exactly as wide as its column; derived numbers respect theirs too."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from esoz.core.numeric import INT16, integer, numeric, numeric_max
from esoz.prescriptions.stewardship import ddd_count


def _accepts(kind: Any, value: object) -> bool:
    try:
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return False
    return True


def test_numeric_is_the_column_range() -> None:
    assert numeric_max(12, 4) == 99999999.9999
    assert numeric_max(12, 2) == 9999999999.99
    money = Annotated[float, numeric(12, 2)]
    assert _accepts(money, 9999999999.99) and _accepts(money, -9999999999.99)
    assert not _accepts(money, 1e10) and not _accepts(money, -1e10)
    for bad in (float("nan"), float("inf"), float("-inf"), 3.7e307):
        assert not _accepts(money, bad)


def test_positive_means_at_least_one_step_of_the_scale() -> None:
    dose = Annotated[float, numeric(12, 4, gt=0)]
    assert _accepts(dose, 0.0001)
    assert not _accepts(dose, 0.00001) and not _accepts(dose, 0)


def test_domain_bounds_narrow_the_column() -> None:
    qty = Annotated[float, numeric(12, 3, gt=0, le=100_000)]
    assert _accepts(qty, 100_000) and not _accepts(qty, 100_000.001)


def test_integer_columns() -> None:
    int32 = Annotated[int, integer()]
    assert _accepts(int32, 2**31 - 1) and not _accepts(int32, 2**31)
    assert not _accepts(Annotated[int, integer(gt=0)], 0)
    assert not _accepts(Annotated[int, integer(column=INT16)], 40_000)


TABLET = {"numerator_unit": "mg", "numerator_value": 500, "denumerator_unit": "pill", "denumerator_value": 1}


def test_ddd_count_of_an_ordinary_line() -> None:
    assert ddd_count(20, TABLET, Decimal("1.5"), "g") == Decimal("6.6667")


def test_ddd_count_that_its_column_cannot_hold_is_not_counted() -> None:
    absurd = {"numerator_unit": "g", "numerator_value": 99999999.9999, "denumerator_unit": "pill",
              "denumerator_value": 0.0001}  # fmt: skip
    assert ddd_count(100_000, absurd, Decimal("0.0001"), "mcg") is None
    assert ddd_count(20, TABLET, Decimal("0"), "g") is None  # a DDD stored as 0 (before bounds) divides nothing
