"""Request shapes of the identity endpoints (the real system's wrappers: `token`, `app`, `user`, ...)."""

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Email = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
]
# Passwords are limited by the policy (with its own error), not by the schema; this only bounds the body.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# A code arrives as a string, or as a number (the real system's examples send `"otp": 1234`)
Code = (
    Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4,10}$")]
    | Annotated[int, Field(ge=0, lt=10**10)]
)
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+380\d{9}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginToken(Strict):
    grant_type: Literal["password", "change_password", "authorize_2fa_access_token", "refresh_2fa_access_token"]
    email: Email | None = None
    password: Password | None = None
    client_id: str | None = Field(None, max_length=64)
    scope: str | None = Field(None, max_length=200)
    otp: Code | None = None
    token: str | None = Field(None, max_length=2048, description="reCAPTCHA token (accepted, not checked)")


class LoginRequest(Strict):
    token: LoginToken


class AppRequestBody(Strict):
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(max_length=2048)
    scope: str = Field(max_length=4096)
    code_challenge: str | None = Field(None, max_length=128, description="esoz: PKCE (S256 only)")
    code_challenge_method: str | None = Field(None, max_length=16)


class AppRequest(Strict):
    app: AppRequestBody


class TokenRequestBody(Strict):
    grant_type: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    client_secret: str = Field(max_length=256)
    code: str | None = Field(None, max_length=256)
    redirect_uri: str | None = Field(None, max_length=2048)
    scope: str | None = Field(None, max_length=4096)
    refresh_token: str | None = Field(None, max_length=256)
    code_verifier: str | None = Field(None, max_length=256, description="esoz: PKCE")


class TokenRequest(Strict):
    token: TokenRequestBody


class FactorBody(Strict):
    type: Literal["SMS", "TOTP"] = "SMS"
    factor: Phone | None = None


class InitFactorRequest(Strict):
    factor: FactorBody


class OtpBody(Strict):
    otp: Code


class ApproveFactorRequest(Strict):
    otp: Code


class UpdatePasswordBody(Strict):
    password: Password
    current_password: Password | None = None


class UpdatePasswordRequest(Strict):
    user: UpdatePasswordBody


class RecoveryBody(Strict):
    email: Email


class RecoveryRequest(Strict):
    credentials_recovery_request: RecoveryBody


class ResetBody(Strict):
    token: str = Field(min_length=1, max_length=256)
    password: Password


class ResetRequest(Strict):
    reset_password_request: ResetBody


# --- admin ---


class RoleIn(Strict):
    role: str = Field(min_length=1, max_length=64)
    legal_entity_id: uuid.UUID | None = Field(None, description="unset = a global role (e.g. NHS ADMIN)")


class UserCreateBody(Strict):
    email: Email
    password: Password
    party_id: uuid.UUID | None = None
    tax_id: str | None = Field(None, max_length=20)
    phone: Phone | None = None
    roles: list[RoleIn] = Field(default_factory=list, max_length=50)


class UserCreateRequest(Strict):
    user: UserCreateBody


class BlockBody(Strict):
    reason: str | None = Field(None, max_length=500)


class ConnectionBody(Strict):
    consumer_id: uuid.UUID = Field(description="the MIS's legal entity (its own client)")
    redirect_uri: str = Field(min_length=8, max_length=2048, pattern=r"^https?://")


class ConnectionRequest(Strict):
    connection: ConnectionBody
