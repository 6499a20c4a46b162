"""Contract-shaped errors: domain code raises ApiError; the app renders the real system's error body."""

from typing import Any

ENTRY_JSON = "json_data_property"
ENTRY_QUERY = "query_param"
ENTRY_PATH = "path_param"
ENTRY_HEADER = "header"
ENTRY_REQUEST = "request"


def invalid_entry(
    entry: str,
    rule: str,
    description: str,
    params: Any = None,
    entry_type: str = ENTRY_JSON,
) -> dict[str, Any]:
    """One item of `error.invalid[]`: which field (a JSON path) broke which rule."""
    return {
        "entry": entry,
        "entry_type": entry_type,
        "rules": [{"rule": rule, "description": description, "params": params if params is not None else []}],
    }


class ApiError(Exception):
    """An error the API answers with; `type` and `message` follow the real system."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        invalid: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.invalid = invalid
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.invalid is not None:
            error["invalid"] = self.invalid
        return error


VALIDATION_MESSAGE = (
    "Validation failed. You can find validators description at our API Manifest: "
    "http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors."
)


class ValidationFailed(ApiError):
    def __init__(self, invalid: list[dict[str, Any]], message: str = VALIDATION_MESSAGE) -> None:
        super().__init__(422, "validation_failed", message, invalid)


def field_error(entry: str, rule: str, description: str, params: Any = None) -> ValidationFailed:
    """Shortcut for the common case of one invalid JSON property."""
    return ValidationFailed([invalid_entry(entry, rule, description, params)])


class NotFound(ApiError):
    def __init__(self, message: str = "Resource not found") -> None:
        super().__init__(404, "not_found", message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, "request_conflict", message)


class Forbidden(ApiError):
    def __init__(self, message: str = "Your scope does not allow to access this resource.") -> None:
        super().__init__(403, "forbidden", message)


class Unauthorized(ApiError):
    def __init__(self, message: str = "Invalid access token") -> None:
        super().__init__(401, "access_denied", message)


class RequestMalformed(ApiError):
    def __init__(self, message: str, invalid: list[dict[str, Any]] | None = None) -> None:
        super().__init__(400, "request_malformed", message, invalid)


class TooManyResults(ApiError):
    def __init__(
        self,
        message: str = (
            "This API method returns only exact match results, please retry with more specific search result"
        ),
    ) -> None:
        super().__init__(403, "too_many_results", message)
