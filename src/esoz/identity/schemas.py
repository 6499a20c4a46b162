"""Request shapes of the identity endpoints (the real system's wrappers: `token`, `app`, `user`, ...)."""

import uuid
from datetime import datetime
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


# --- answers (documented in the OpenAPI) ------------------------------------------------------------


class Empty(BaseModel):
    """`{}`: the call did what it says and has nothing to tell."""


class TokenDetailsOut(BaseModel):
    model_config = ConfigDict(extra="allow")  # the grant's own details: redirect_uri, scope_request, ...

    client_id: uuid.UUID
    scope: str
    grant_type: str | None = None
    refresh_token: str | None = None


class TokenOut(BaseModel):
    """The real system's `Access_Token`: what the next step of the sign-in takes as its bearer."""

    id: uuid.UUID
    name: str
    value: str
    user_id: uuid.UUID
    expires_at: int = Field(description="Unix time")
    details: TokenDetailsOut


class FactorOut(BaseModel):
    """An SMS factor (masked phone in `factor`) or a TOTP one (its secret, shown once while enrolling)."""

    type: str
    factor: str | None = None
    secret: str | None = None
    otpauth_uri: str | None = None
    is_active: bool | None = None


class UserRoleOut(BaseModel):
    role: str
    client_id: uuid.UUID | None


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    party_id: uuid.UUID | None
    tax_id: str | None
    is_blocked: bool
    block_reason: str | None
    password_set_at: datetime
    inserted_at: datetime
    updated_at: datetime
    roles: list[UserRoleOut] | None = None


class RecoveryRequestOut(BaseModel):
    is_active: bool
    expires_at: datetime


class OAuthTokenOut(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    scope: str


class IntrospectionOut(BaseModel):
    """RFC 7662: only `active` for a token that is not the client's own live token."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    sub: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None


class ServerMetadataOut(BaseModel):
    """RFC 8414."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str
    introspection_endpoint: str
    response_types_supported: list[str]
    grant_types_supported: list[str]
    code_challenge_methods_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint_auth_methods_supported: list[str]
    scopes_supported: list[str]
    service_documentation: str
    ui_locales_supported: list[str]


class RevokedOut(BaseModel):
    revoked: int = Field(description="how many live tokens were revoked")


class RemovedOut(BaseModel):
    removed: int = Field(description="how many factors were removed")


class ConnectionOut(BaseModel):
    """A MIS connection; `secret` is shown this once."""

    id: uuid.UUID
    client_id: uuid.UUID
    consumer_id: uuid.UUID
    redirect_uri: str
    secret: str
