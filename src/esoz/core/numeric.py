"""Numbers of request schemas, bounded by the column that stores them.

A number a column cannot hold fails the INSERT with a numeric overflow, deep inside a handler; bounded here, it is a
422 naming the field. `Annotated[float, numeric(12, 4)]` is the range of NUMERIC(12, 4) (|x| <= 99999999.9999, so
that rounding to the scale cannot overflow either); `Annotated[int, integer()]` that of INTEGER. Both refuse NaN and
infinities. A domain narrows the range further with the same keywords as pydantic's Field (`gt`, `ge`, `le`).
"""

from decimal import Decimal

from pydantic.fields import FieldInfo

INT16 = (-(2**15), 2**15 - 1)
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def numeric_max(precision: int, scale: int) -> float:
    """The largest value NUMERIC(precision, scale) stores."""
    return float(Decimal(10) ** (precision - scale) - Decimal(10) ** -scale)


def numeric(
    precision: int, scale: int, *, gt: float | None = None, ge: float | None = None, le: float | None = None
) -> FieldInfo:
    """The bounds of a float that fits NUMERIC(precision, scale), optionally narrower.

    `gt` becomes "at least the next step of the scale": NUMERIC(12, 4) stores 0.00001 as 0, and a positive DDD or
    dosage that turned into 0 would divide by zero later.
    """
    top = numeric_max(precision, scale)
    if gt is not None:
        above = float(Decimal(str(gt)) + Decimal(10) ** -scale)
        ge, gt = (above if ge is None else max(ge, above)), None
    if ge is None:
        ge = -top
    # FieldInfo.from_field is what Field() builds; called directly it keeps its type (Field() says Any)
    return FieldInfo.from_field(allow_inf_nan=False, gt=gt, ge=ge, le=top if le is None else min(le, top))


def integer(
    *, gt: int | None = None, ge: int | None = None, le: int | None = None, column: tuple[int, int] = INT32
) -> FieldInfo:
    """The bounds of an int that fits the integer column (INTEGER unless told), optionally narrower."""
    low, high = column
    if gt is None and ge is None:
        ge = low
    return FieldInfo.from_field(gt=gt, ge=ge, le=high if le is None else min(le, high))
