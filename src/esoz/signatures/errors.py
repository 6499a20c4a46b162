"""Why a signature was refused, with the real system's messages.

Crypto-layer failures keep the messages of the real DS library (`digital_signature_lib.c`, typos
included: MIS vendors match on them) and become 400 request_malformed, as the IL does with any
`is_valid: false` signature. Input-format failures are 422 on the signed field.
"""

from __future__ import annotations

from esoz.core.errors import RequestMalformed, ValidationFailed, invalid_entry

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


# What the error body says when the cause came from a library: its exception names and messages are logged, never
# sent (they describe esoz's internals, not the caller's input).
DETAIL_CONTAINER = "the signed data is not a well-formed CMS container"
DETAIL_NO_CERTIFICATE = "the signer's certificate is not in the container"
DETAIL_SIGNATURE = "the signed attributes or the signature do not verify"
DETAIL_TIMESTAMP = "the signature timestamp does not verify"
DETAIL_NO_REVOCATION = "no revocation evidence for the certificate"
DETAIL_REVOKED = "the certificate is revoked"
DETAIL_UNTRUSTED = "no chain to a trusted root certificate"
DETAIL_CHAIN = "the certificate chain does not validate"
DETAIL_INVALID = "the certificate could not be validated"


class VerificationFailed(Exception):
    """Raised by verifier backends; `reason` is a stable code, `detail` says what exactly was wrong.

    `detail` reaches the error body, so it is always esoz's own text; `cause` (a library's exception and message)
    goes to the log only.
    """

    def __init__(self, message: str, reason: str, detail: str | None = None, *, cause: str | None = None) -> None:
        super().__init__(f"{message}: {detail}" if detail else message)
        self.message = message
        self.reason = reason
        self.detail = detail
        self.cause = cause


def cause_of(exc: BaseException) -> str:
    """A library exception as one log field: its class and message."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class SignatureRejected(RequestMalformed):
    """400 request_malformed with the library message; `reason` is kept for logs and tests."""

    def __init__(self, message: str, reason: str, detail: str | None = None, entry: str = "$.signed_data") -> None:
        invalid = [invalid_entry(entry, "invalid", detail)] if detail else None
        super().__init__(message, invalid)
        self.reason = reason

    @classmethod
    def from_failure(cls, failure: VerificationFailed, entry: str) -> SignatureRejected:
        return cls(failure.message, failure.reason, failure.detail, entry)


def signature_count_error(
    required_signatures: int, required_stamps: int, signatures: int, stamps: int
) -> SignatureRejected:
    """The IL's exact phrase (`Core.Validators.Signature.get_signatures_count_error`), 400."""

    def phrase(word: str, n: int) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    message = (
        f"document must contain {phrase('signature', required_signatures)} and "
        f"{phrase('stamp', required_stamps)} but contains {phrase('signature', signatures)} and "
        f"{phrase('stamp', stamps)}"
    )
    return SignatureRejected(message, "signature_count")


def field_invalid(entry: str, description: str, rule: str = "invalid", params: object = None) -> ValidationFailed:
    return ValidationFailed([invalid_entry(entry, rule, description, params)])
