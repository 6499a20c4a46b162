"""Identity routes: the real system's JSON endpoints and the standard OAuth 2.0 ones.

Public (no scope gate): they authenticate by what they receive — password, code, session token,
client secret. Every route here is rate-limited per IP (shared counters).
"""

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from esoz.core import envelope
from esoz.core.auth import bearer_token, client_ip, limit_api_per_ip
from esoz.core.errors import ApiError, field_error
from esoz.core.schemas import Envelope
from esoz.identity import login, oauth, recovery
from esoz.identity.schemas import (
    AppRequest,
    ApproveFactorRequest,
    Empty,
    FactorOut,
    InitFactorRequest,
    IntrospectionOut,
    LoginRequest,
    OAuthTokenOut,
    RecoveryRequest,
    RecoveryRequestOut,
    ResetRequest,
    ServerMetadataOut,
    TokenOut,
    TokenRequest,
    UpdatePasswordRequest,
    UserOut,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


async def limit_per_ip(request: Request) -> None:
    limiter = getattr(request.app.state, "rate_limiter", None)
    settings = request.app.state.settings
    if limiter is not None:
        await limiter.hit(
            f"auth:ip:{client_ip(request)}", settings.ratelimit_auth_per_ip, settings.ratelimit_window_seconds
        )


router = APIRouter(tags=["auth"], dependencies=[Depends(limit_per_ip)])
# The calls an MIS server makes with its client credentials for its doctors — the code exchange and refresh at
# sign-in (RFC 6749 and the contract's /oauth/tokens), revocation (RFC 7009), introspection (RFC 7662) — count in
# the API's per-IP budget like its other calls, not in the sign-in limit above (120/min, meant for guessing
# passwords and one-time codes): under it the largest MIS, one address for thousands of clinics, could sign in two
# doctors a second in the morning wave. What these calls carry (client secret, authorization code, refresh token)
# is 256 random bits, which no rate of guesses reaches.
client_router = APIRouter(tags=["auth"], dependencies=[Depends(limit_api_per_ip)])


def _deps(request: Request) -> tuple[Any, Any]:
    return request.app.state.engine, request.app.state.settings


def _code(otp: str | int, length: int) -> str:
    return otp if isinstance(otp, str) else str(otp).zfill(length)


def _answer(request: Request, answer: login.Answer) -> Response:
    response = envelope.ok(request, answer.data, status=answer.status, urgent=answer.urgent or None)
    response.headers.update(NO_STORE)
    return response


@router.post(
    "/auth/login",
    response_model=Envelope[TokenOut],
    status_code=201,
    summary="Sign in: password, second factor, change-password grants",
    description="esoz: PUT is accepted too (the ESOZ 9.11 heading says PUT, its own k6 script POSTs).\n\n"
    "**esoz: step-up for a factor change.** `grant_type: password` with `scope: user:change_factor` → "
    "`2fa_access_token` (`next_step: REQUEST_OTP`) → `authorize_2fa_access_token` with the current factor's code → "
    "a `change_factor_token` (`next_step: REQUEST_FACTOR`). It opens only `init_factor` and `approve_factor`, "
    "and only within `ESOZ_FACTOR_CHANGE_WINDOW_SECONDS` (300 s) of the password; an older step-up answers 401 "
    "`token_expired`.",
)
async def auth_login(request: Request, body: LoginRequest) -> Response:
    engine, settings = _deps(request)
    t = body.token
    if t.grant_type in ("password", "change_password"):
        missing = [name for name in ("email", "password", "client_id", "scope") if getattr(t, name) is None]
        if missing:
            raise field_error(f"$.token.{missing[0]}", "required", "required property is missing")
        answer = await login.password_grant(
            engine, settings, grant=t.grant_type, email=t.email or "", password=t.password or "",
            client_id=t.client_id or "", scope=t.scope or "", ip=client_ip(request),
        )  # fmt: skip
    elif t.grant_type == "authorize_2fa_access_token":
        if t.otp is None:
            raise field_error("$.token.otp", "required", "required property is missing")
        answer = await login.authorize_2fa(
            engine, settings, bearer=bearer_token(request), otp=_code(t.otp, settings.otp_length)
        )
    else:
        answer = await login.refresh_2fa(engine, settings, bearer=bearer_token(request))
    return _answer(request, answer)


router.add_api_route("/auth/login", auth_login, methods=["PUT"], status_code=201, include_in_schema=False)


@router.post(
    "/auth/logout",
    response_model=Envelope[Empty],
    summary="End the session: the token and its refresh tokens expire",
)
async def auth_logout(request: Request) -> Response:
    engine, _ = _deps(request)
    await oauth.logout(engine, bearer=bearer_token(request))
    return envelope.ok(request, {})


@router.post(
    "/oauth/apps/authorize",
    response_model=Envelope[TokenOut],
    status_code=201,
    summary="Approve the MIS app and get an authorization code",
)
async def apps_authorize(request: Request, body: AppRequest) -> Response:
    engine, settings = _deps(request)
    a = body.app
    data, location = await oauth.authorize_app(
        engine, settings, bearer=bearer_token(request), client_id=a.client_id, redirect_uri=a.redirect_uri,
        scope=a.scope, code_challenge=a.code_challenge, code_challenge_method=a.code_challenge_method,
    )  # fmt: skip
    response = envelope.ok(request, data, status=201, urgent={"redirect_uri": location})
    response.headers.update({"Location": location, **NO_STORE})
    return response


@client_router.post(
    "/oauth/tokens",
    response_model=Envelope[TokenOut],
    status_code=201,
    summary="Exchange a code, or a refresh token, for an access token",
    description="A code issued with a PKCE challenge needs its `code_verifier`. **esoz:** a code issued without "
    "one is accepted as the real system does, unless `ESOZ_OAUTH_CONTRACT_CODES_WITHOUT_PKCE=false` "
    "(then 401 `invalid_grant`).",
)
async def oauth_tokens(request: Request, body: TokenRequest) -> Response:
    engine, settings = _deps(request)
    t = body.token
    try:
        access, refresh = await oauth.exchange(
            engine, settings, grant_type=t.grant_type, client_id=t.client_id, client_secret=t.client_secret,
            code=t.code, redirect_uri=t.redirect_uri, code_verifier=t.code_verifier, refresh_token=t.refresh_token,
            require_pkce=not settings.oauth_contract_codes_without_pkce,
        )  # fmt: skip
    except oauth.OAuthError as exc:
        # the real system answers grant and client failures as 401 access errors, bad requests as 422
        status = 401 if exc.type in ("invalid_grant", "invalid_client") else 422
        raise ApiError(status, exc.type, exc.message) from None
    response = envelope.ok(request, oauth.contract_token(access, refresh), status=201)
    response.headers.update(NO_STORE)
    return response


FACTOR_TOKENS = (
    "\n\n**esoz:** the bearer is a `change_factor_token` from the step-up of `POST /auth/login` (password with "
    "scope `user:change_factor`, then the current second factor, within `ESOZ_FACTOR_CHANGE_WINDOW_SECONDS`), or, "
    "for a user with no factor yet, the sign-in's `2fa_access_token` (`next_step: REQUEST_FACTOR`). Any other "
    "token, an MIS access token included, answers 401 `token_invalid_type`; a 2FA token of a user who has a "
    "factor answers 403 `forbidden`; an expired step-up 401 `token_expired`."
)


@router.post(
    "/oauth/users/actions/init_factor",
    response_model=Envelope[FactorOut],
    status_code=201,
    summary="Start enrolling an SMS or TOTP factor",
    description="SMS: a code goes to the new phone. TOTP: the new secret is shown once; the current factor keeps "
    "working until the new one is approved." + FACTOR_TOKENS,
)
async def init_factor(request: Request, body: InitFactorRequest) -> Response:
    engine, settings = _deps(request)
    answer = await login.init_factor(
        engine, settings, bearer=bearer_token(request), factor_type=body.factor.type, phone=body.factor.factor
    )
    return _answer(request, answer)


@router.post(
    "/oauth/users/actions/approve_factor",
    response_model=Envelope[FactorOut | TokenOut],
    status_code=201,
    summary="Confirm the new factor with its code",
    description="The factor becomes active, every session of the user ends, and the user is told on the old "
    "channel (an SMS to the old phone, or an e-mail when there was no SMS factor). A first enrolment during "
    "sign-in answers with the token the sign-in asked for. **esoz:** after a change with a `change_factor_token` "
    "no token is returned (`data`: the factor's type): the user signs in again with the new factor." + FACTOR_TOKENS,
)
async def approve_factor(request: Request, body: ApproveFactorRequest) -> Response:
    engine, settings = _deps(request)
    return _answer(
        request,
        await login.approve_factor(
            engine, settings, bearer=bearer_token(request), otp=_code(body.otp, settings.otp_length)
        ),
    )


@router.post(
    "/oauth/users/actions/update_password",
    response_model=Envelope[UserOut],
    summary="Set a new password (change-password token)",
)
async def update_password(request: Request, body: UpdatePasswordRequest) -> Response:
    engine, settings = _deps(request)
    data = await login.update_password(
        engine, settings, bearer=bearer_token(request), password=body.user.password,
        current_password=body.user.current_password,
    )  # fmt: skip
    return envelope.ok(request, data)


@router.post(
    "/api/credentials_recovery_requests",
    response_model=Envelope[RecoveryRequestOut],
    status_code=201,
    summary="Ask for a password-reset link by e-mail",
)
async def recovery_request(request: Request, body: RecoveryRequest) -> Response:
    engine, settings = _deps(request)
    data = await recovery.request_recovery(
        engine, settings, email=body.credentials_recovery_request.email, base_url=str(request.base_url)
    )
    return envelope.ok(request, data, status=201)


@router.patch(
    "/api/credentials_recovery_requests/{request_id}/actions/reset_password",
    response_model=Envelope[UserOut],
    summary="Reset the password",
)
async def recovery_reset(request: Request, request_id: str, body: ResetRequest) -> Response:
    engine, settings = _deps(request)
    r = body.reset_password_request
    data = await recovery.reset_password(engine, settings, request_id=request_id, secret=r.token, password=r.password)
    return envelope.ok(request, data)


# --- standard OAuth 2.0 (form-encoded, RFC 6749 bodies) ---------------------------------------------


def _oauth_error(exc: ApiError) -> JSONResponse:
    body = exc.oauth_body if isinstance(exc, oauth.OAuthError) else {"error": "invalid_request"}
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="esoz"'
    return JSONResponse(body, status_code=exc.status if exc.status in (400, 401, 429) else 400, headers=headers)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = raw.partition(":")
        return unquote(client_id), unquote(secret)
    return form.get("client_id"), form.get("client_secret")


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise oauth.invalid_request("Use application/x-www-form-urlencoded.")
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@client_router.post(
    "/oauth/token",
    response_model=OAuthTokenOut,
    summary="RFC 6749 token endpoint: authorization_code (+PKCE S256) and refresh_token",
)
async def token_endpoint(request: Request) -> Response:
    engine, settings = _deps(request)
    try:
        form = await _form(request)
        client_id, secret = _client_credentials(request, form)
        access, refresh = await oauth.exchange(
            engine, settings, grant_type=form.get("grant_type"), client_id=client_id, client_secret=secret,
            code=form.get("code"), redirect_uri=form.get("redirect_uri"), code_verifier=form.get("code_verifier"),
            refresh_token=form.get("refresh_token"), require_pkce=True,
        )  # fmt: skip
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(oauth.standard_token(access, refresh), headers=NO_STORE)


@client_router.post("/oauth/revoke", response_model=Empty, summary="RFC 7009 token revocation")
async def revoke_endpoint(request: Request) -> Response:
    engine, _ = _deps(request)
    try:
        form = await _form(request)
        client_id, secret = _client_credentials(request, form)
        await oauth.revoke(engine, client_id=client_id, client_secret=secret, token=form.get("token"))
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse({}, headers=NO_STORE)


@client_router.post("/oauth/introspect", response_model=IntrospectionOut, summary="RFC 7662 token introspection")
async def introspect_endpoint(request: Request) -> Response:
    engine, _ = _deps(request)
    try:
        form = await _form(request)
        client_id, secret = _client_credentials(request, form)
        data = await oauth.introspect(engine, client_id=client_id, client_secret=secret, token=form.get("token"))
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(data, headers=NO_STORE)


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=ServerMetadataOut,
    summary="RFC 8414 authorization server metadata",
)
async def server_metadata(request: Request) -> Response:
    return JSONResponse(oauth.metadata(str(request.base_url)))
