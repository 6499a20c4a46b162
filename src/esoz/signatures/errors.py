"""Why a signature was refused, with the real system's messages.

Crypto-layer failures keep the messages of the real DS library (`digital_signature_lib.c`, typos
included: MIS vendors match on them) and become 400 request_malformed, as the IL does with any
`is_valid: false` signature. Input-format failures are 422 on the signed field.
"""

from __future__ import annotations

from esoz.core.errors import ApiError, RequestMalformed, ValidationFailed, invalid_entry

# --- input format (422) ---
NOT_BASE64 = "Not a base64 string"
MALFORMED_CONTENT = "Malformed encoded content. Probably, you have encoded corrupted JSON."

# --- crypto layer (400), strings of the real DS library ---
CONTAINER = "error validating signed data container"
NO_CERTIFICATE = "retrieving certificate from signed data container failed"
NO_TIMESTAMP = "retrieving a timestamp of data from an envelope with signed data failed"
ROOT_NOT_FOUND = "matching ROOT certificate not found"
ROOT_SIGNATURE = "ROOT certificate signature verification failed"
TIMESTAMP_SIGNATURE = "checking the signature of a response with a timestamp failed"
TIMESTAMP_OUTSIDE_VALIDITY = "signature timestamp verification failed"
EXPIRED = "certificate timestamp expired"
REVOCATION = "OCSP certificate verificaton failed"  # sic
DATA_SIGNATURE = "verification of data siganture for a given subscriber failed"  # sic
# esoz additions (the real library had no such checks)
KEY_USAGE = "certificate key usage does not allow signing"
UNSUPPORTED_ALGORITHM = "unsupported signature algorithm"


class VerificationFailed(Exception):
    """Raised by verifier backends; `reason` is a stable code, `detail` says what exactly was wrong."""

    def __init__(self, message: str, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{message}: {detail}" if detail else message)
        self.message = message
        self.reason = reason
        self.detail = detail


class SignatureRejected(RequestMalformed):
    """400 request_malformed with the library message; `reason` is kept for logs and tests."""

    def __init__(self, message: str, reason: str, detail: str | None = None, entry: str = "$.signed_data") -> None:
        invalid = [invalid_entry(entry, "invalid", detail)] if detail else None
        super().__init__(message, invalid)
        self.reason = reason

    @classmethod
    def from_failure(cls, failure: VerificationFailed, entry: str) -> SignatureRejected:
        return cls(failure.message, failure.reason, failure.detail, entry)


def signature_count_error(required_signatures: int, required_stamps: int, signatures: int, stamps: int) -> ApiError:
    """The IL's exact phrase (`Core.Validators.Signature.get_signatures_count_error`), 400."""

    def phrase(word: str, n: int) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    message = (
        f"document must contain {phrase('signature', required_signatures)} and "
        f"{phrase('stamp', required_stamps)} but contains {phrase('signature', signatures)} and "
        f"{phrase('stamp', stamps)}"
    )
    err = RequestMalformed(message)
    err.reason = "signature_count"  # type: ignore[attr-defined]
    return err


def field_invalid(entry: str, description: str, rule: str = "invalid", params: object = None) -> ValidationFailed:
    return ValidationFailed([invalid_entry(entry, rule, description, params)])
