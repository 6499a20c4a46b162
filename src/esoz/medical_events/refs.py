"""Shapes the medical-events API shares: references `{"identifier": {"type": ..., "value"}}` and codings, and
the parsing of signed content into a shape."""

import uuid
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESOURCES = "eHealth/resources"


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(max_length=200)
    code: str = Field(max_length=100)
    display: str | None = Field(None, max_length=500)


class CodeableConcept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    coding: list[Coding] = Field(min_length=1, max_length=10)
    text: str | None = Field(None, max_length=2000)

    @property
    def code(self) -> str:
        return self.coding[0].code

    @property
    def system(self) -> str:
        return self.coding[0].system


class Identifier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: CodeableConcept
    value: uuid.UUID


class Reference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identifier: Identifier
    display_value: str | None = Field(None, max_length=500)

    @property
    def resource(self) -> str:
        return self.identifier.type.code

    @property
    def id(self) -> uuid.UUID:
        return self.identifier.value


def reference(resource: str, value: uuid.UUID | str) -> dict[str, Any]:
    """The JSON of a reference, as the API renders it."""
    return {
        "identifier": {"type": {"coding": [{"system": RESOURCES, "code": resource}], "text": ""}, "value": str(value)}
    }


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}], "text": ""}


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any) -> M:
    """Validate signed JSON like a request body: errors leave as 422 with the content's paths."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
