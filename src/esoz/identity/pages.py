"""Sign-in pages (Ukrainian, server-rendered, no JavaScript): e-mail and password → second factor →
new password when expired → approval of the MIS app → redirect to the MIS with the code and state.

They drive the same services as the JSON endpoints. The flow's token lives in an HttpOnly,
SameSite=Strict cookie scoped to /sign-in; nothing is redirected anywhere before the client and its
exact redirect_uri are checked (a bad one gets an error page, never a redirect).
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from esoz.core.auth import client_ip
from esoz.core.errors import ApiError
from esoz.identity import login, oauth, recovery, scopes
from esoz.identity.api import limit_per_ip
from esoz.identity.policy import PasswordRejected

router = APIRouter(tags=["sign-in pages"], include_in_schema=False, dependencies=[Depends(limit_per_ip)])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE = "esoz_signin"
PARAMS = ("client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self' https: http:",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}

# What the pages say for each error type (the API's messages stay as the real system's).
MESSAGES = {
    "access_denied": "Невірний e-mail або пароль.",
    "user_blocked": "Обліковий запис заблоковано. Зверніться до адміністратора закладу.",
    "too_many_requests": "Забагато спроб. Спробуйте пізніше.",
    "otp_invalid": "Невірний код. Перевірте SMS або застосунок-автентифікатор.",
    "otp_expired": "Термін дії коду минув. Надішліть новий код.",
    "otp_reached_max_attempts": "Вичерпано спроби для цього коду. Надішліть новий код.",
    "otp_timeout": "Код можна надсилати не частіше трьох разів на хвилину. Спробуйте пізніше.",
    "token_expired": "Сеанс входу завершився. Почніть спочатку.",
    "token_not_found": "Сеанс входу завершився. Почніть спочатку.",
    "token_invalid_type": "Сеанс входу завершився. Почніть спочатку.",
    "invalid_client": "Невідомий застосунок.",
    "invalid_recovery_request": "Посилання недійсне, уже використане або прострочене.",
}
LOCKED_TEXT = "Забагато невдалих спроб входу. Обліковий запис тимчасово заблоковано, спробуйте пізніше."


def _params(source: Any) -> dict[str, str]:
    return {k: source.get(k) for k in PARAMS if source.get(k)}


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def _error_text(exc: ApiError) -> str:
    if isinstance(exc, PasswordRejected):
        return exc.text_uk
    if exc.message == login.LOCKED:
        return LOCKED_TEXT
    return MESSAGES.get(exc.type, "Не вдалося виконати дію. Спробуйте ще раз.")


def _with_cookie(response: Response, token: str | None) -> Response:
    if token is None:
        response.delete_cookie(COOKIE, path="/sign-in")
    else:
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/sign-in", max_age=900)
    return response


async def _check(request: Request, params: dict[str, str]) -> Response | None:
    """An error page unless the client, its exact redirect_uri and the PKCE parameters are right."""
    async with request.app.state.engine.connect() as conn:
        try:
            await oauth.check_authorize_request(
                conn,
                client_id=params.get("client_id", ""),
                redirect_uri=params.get("redirect_uri", ""),
                code_challenge=params.get("code_challenge"),
                method=params.get("code_challenge_method"),
            )
        except oauth.OAuthError:
            return _render(
                request,
                "message.html",
                400,
                title="Помилка запиту",
                text="Застосунок передав невірні параметри входу (client_id, redirect_uri або PKCE). "
                "Зверніться до розробника МІС.",
            )
    if not params.get("scope"):
        return _render(request, "message.html", 400, title="Помилка запиту", text="Застосунок не вказав scope.")
    return None


def _approval(request: Request, params: dict[str, str], token: str) -> Response:
    labels = [(s, scopes.describe(s)) for s in scopes.split(params.get("scope"))]
    return _with_cookie(_render(request, "approve.html", params=params, scopes=labels), token)


def _after_login(request: Request, params: dict[str, str], answer: login.Answer) -> Response:
    token = answer.data["value"]
    step = answer.urgent.get("next_step")
    if step == login.REQUEST_OTP:
        return _with_cookie(
            _render(request, "otp.html", params=params, factor=answer.urgent.get("factor_type", "SMS")), token
        )
    if step == login.REQUEST_FACTOR:
        return _render(
            request,
            "message.html",
            403,
            title="Другий фактор не налаштовано",
            text="Для входу потрібен номер телефону для SMS-кодів. Зверніться до адміністратора закладу.",
        )
    if answer.data["name"] == "change_password_token":
        return _with_cookie(_render(request, "password.html", params=params), token)
    return _approval(request, params, token)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    params = _params(request.query_params)
    return await _check(request, params) or _render(request, "login.html", params=params)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    params = _params(form)
    if (error := await _check(request, params)) is not None:
        return error
    engine, settings = request.app.state.engine, request.app.state.settings
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    grant = dict(email=email, password=password, client_id=params["client_id"], ip=client_ip(request))
    try:
        answer = await login.password_grant(engine, settings, grant="password", scope=login.APP_AUTHORIZE, **grant)
    except ApiError as exc:
        if exc.type != "password_expired":
            return _render(request, "login.html", exc.status, params=params, error=_error_text(exc), email=email)
        try:  # expired: the same password opens only the change (after the second factor)
            answer = await login.password_grant(
                engine, settings, grant="change_password", scope=login.CHANGE_PASSWORD_SCOPE, **grant
            )
        except ApiError as exc2:
            return _render(request, "login.html", exc2.status, params=params, error=_error_text(exc2), email=email)
    return _after_login(request, params, answer)


@router.post("/sign-in/otp")
async def sign_in_otp(request: Request) -> Response:
    form = await request.form()
    params = _params(form)
    engine, settings = request.app.state.engine, request.app.state.settings
    bearer = request.cookies.get(COOKIE)
    try:
        if form.get("resend"):
            answer = await login.refresh_2fa(engine, settings, bearer=bearer)
            response = _render(request, "otp.html", params=params, factor="SMS", notice="Новий код надіслано.")
            return _with_cookie(response, answer.data["value"])
        answer = await login.authorize_2fa(engine, settings, bearer=bearer, otp=str(form.get("otp", "")).strip())
    except ApiError as exc:
        fatal = exc.type in ("user_blocked", "token_expired", "token_not_found", "token_invalid_type", "access_denied")
        page = "login.html" if fatal else "otp.html"
        return _render(request, page, exc.status, params=params, error=_error_text(exc), factor="SMS")
    return _after_login(request, params, answer)


@router.post("/sign-in/password")
async def sign_in_new_password(request: Request) -> Response:
    form = await request.form()
    params = _params(form)
    password, repeat = str(form.get("password", "")), str(form.get("password_repeat", ""))
    if password != repeat:
        return _render(request, "password.html", 422, params=params, error="Паролі не збігаються.")
    engine, settings = request.app.state.engine, request.app.state.settings
    try:
        await login.update_password(
            engine, settings, bearer=request.cookies.get(COOKIE), password=password, current_password=None
        )
    except ApiError as exc:
        return _render(request, "password.html", exc.status, params=params, error=_error_text(exc))
    notice = "Пароль змінено. Увійдіть з новим паролем."
    return _with_cookie(_render(request, "login.html", params=params, notice=notice), None)


@router.post("/sign-in/approve")
async def sign_in_approve(request: Request) -> Response:
    form = await request.form()
    params = _params(form)
    if (error := await _check(request, params)) is not None:
        return error
    if form.get("decision") != "approve":
        query = {"error": "access_denied", **({"state": params["state"]} if "state" in params else {})}
        sep = "&" if "?" in params["redirect_uri"] else "?"
        return _with_cookie(RedirectResponse(f"{params['redirect_uri']}{sep}{urlencode(query)}", 303), None)
    engine, settings = request.app.state.engine, request.app.state.settings
    try:
        _, location = await oauth.authorize_app(
            engine,
            settings,
            bearer=request.cookies.get(COOKIE),
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scope=params["scope"],
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
        )
    except ApiError as exc:
        text = _error_text(exc)
        if exc.type == "validation_failed" and exc.invalid:
            text = "Застосунок просить дозволи, яких ваша роль не має: " + exc.invalid[0]["rules"][0]["description"]
        return _render(request, "message.html", exc.status, title="Доступ не надано", text=text)
    if "state" in params:
        location += "&" + urlencode({"state": params["state"]})
    return _with_cookie(RedirectResponse(location, 303), None)


@router.get("/sign-in/forgot")
async def forgot_page(request: Request) -> Response:
    return _render(request, "forgot.html", params=_params(request.query_params))


@router.post("/sign-in/forgot")
async def forgot(request: Request) -> Response:
    form = await request.form()
    engine, settings = request.app.state.engine, request.app.state.settings
    await recovery.request_recovery(
        engine, settings, email=str(form.get("email", "")).strip(), base_url=str(request.base_url)
    )
    text = "Якщо такий e-mail зареєстровано, ми надіслали на нього посилання для зміни пароля."
    return _render(request, "message.html", title="Перевірте пошту", text=text)


@router.get("/sign-in/reset")
async def reset_page(request: Request) -> Response:
    q = request.query_params
    return _render(request, "reset.html", request_id=q.get("request", ""), token=q.get("token", ""))


@router.post("/sign-in/reset")
async def reset(request: Request) -> Response:
    form = await request.form()
    request_id, token = str(form.get("request_id", "")), str(form.get("token", ""))
    password, repeat = str(form.get("password", "")), str(form.get("password_repeat", ""))
    if password != repeat:
        return _render(request, "reset.html", 422, request_id=request_id, token=token, error="Паролі не збігаються.")
    engine, settings = request.app.state.engine, request.app.state.settings
    try:
        await recovery.reset_password(engine, settings, request_id=request_id, secret=token, password=password)
    except ApiError as exc:
        return _render(request, "reset.html", exc.status, request_id=request_id, token=token, error=_error_text(exc))
    text = "Пароль змінено. Поверніться до своєї МІС і увійдіть з новим паролем."
    return _render(request, "message.html", title="Готово", text=text)
