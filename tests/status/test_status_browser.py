"""The status page in Debian's Chromium (Playwright): live components and charts, double opt-in through a real
SMTP server on loopback (aiosmtpd), a problem report, a 360 px wide screen, screenshots in test-artifacts/.

The app runs on a database of its own with e-mail over SMTP, so no other test's worker delivers these e-mails.
"""

import asyncio
import email
import os
import re
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from status_support import count, unique_email
from tests.processes import free_port

from esoz.core.db import libpq_url, make_engine
from esoz.core.migrations import upgrade
from esoz.settings import Settings
from esoz.status import incidents

CHROMIUM = Path(os.environ.get("ESOZ_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PUBLIC_URL = "http://status.example"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, limit: float = 30.0) -> Message:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            for m in self.messages:
                if m["To"] == to:
                    return m
            time.sleep(0.1)
        raise AssertionError(f"no e-mail to {to}")


@pytest.fixture(scope="module")
def status_db(db_url: str) -> Iterator[str]:
    name = f"esoz_status_{uuid.uuid4().hex[:10]}"
    base, _, query = libpq_url(db_url).partition("?")
    admin = f"{base.rsplit('/', 1)[0]}/postgres" + (f"?{query}" if query else "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def site(
    status_db: str, inbox: tuple[Inbox, int], live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = Settings(
        env="dev",
        database_url=status_db,
        data_dir=tmp_path_factory.mktemp("status-data"),
        log_level="WARNING",
        db_pool_size=4,
        email_provider="smtp",
        smtp_port=inbox[1],
        outbox_poll_seconds=0.2,
        status_flush_seconds=0.5,
        status_sample_seconds=1,
        status_public_url=PUBLIC_URL,
    )
    with live_server(settings) as live:
        yield live.url


def _local(url: str, site: str) -> str:
    """Links in e-mail use the configured public URL; the test server listens elsewhere."""
    return url.replace(PUBLIC_URL, site)


async def _open_incident(url: str) -> None:
    engine = make_engine(url, 1)
    try:
        async with engine.begin() as conn:
            await incidents.create(
                conn,
                title="Повільні відповіді обміну з ПФУ",
                status="identified",
                impact="minor",
                components=["pfu"],
                message="Реєстр ПФУ відповідає повільніше за звичайне; висновки передаються з затримкою.",
                base_url=PUBLIC_URL,
            )
    finally:
        await engine.dispose()


def _make_traffic(site: str, status_db: str) -> None:
    with httpx.Client(base_url=site, timeout=10) as c:
        for i in range(40):
            c.get("/api/legal_entities", params={"page": i})  # 401 without a token: measured, not an error
            c.get("/health")
    with psycopg.connect(libpq_url(status_db), autocommit=True) as pg:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            metrics = count(pg, "SELECT coalesce(sum(requests), 0) FROM status_metrics WHERE component = 'api'")
            samples = count(pg, "SELECT count(DISTINCT component) FROM status_samples")
            if metrics >= 40 and samples == 7:
                return
            time.sleep(0.2)
    raise AssertionError("metrics were not flushed or health was not sampled")


def test_status_page_in_chromium(site: str, status_db: str, inbox: tuple[Inbox, int]) -> None:
    from playwright.sync_api import expect, sync_playwright

    _make_traffic(site, status_db)
    asyncio.run(_open_incident(status_db))
    ARTIFACTS.mkdir(exist_ok=True)
    subscriber, reporter = unique_email("pidpysnyk"), unique_email("zvernennia")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="uk-UA")
            page.goto(f"{site}/status")
            expect(page.locator("li.component")).to_have_count(7)
            expect(page.locator("li.component[data-component=api] .state")).to_have_text("Працює")
            expect(page.locator("li.component[data-component=pfu] .state")).to_have_text("Уповільнення")
            expect(page.locator(".incident h3")).to_contain_text("Повільні відповіді обміну з ПФУ")
            expect(page.locator("li.component[data-component=api] .bars rect")).to_have_count(90)
            assert page.locator("li.component[data-component=api] .bars rect.lv-ok").count() >= 1
            assert page.locator("#chart-24h .line-p50, #chart-24h .line-p95").count() >= 2  # drawn from live data
            expect(page.locator(".guide li")).to_have_count(4)
            page.screenshot(path=str(ARTIFACTS / "status-desktop.png"), full_page=True)

            # Double opt-in through the SMTP stand-in.
            page.fill("#subscribe input[name=email]", subscriber)
            page.check("#subscribe input[value=api]")
            page.check("#subscribe input[value=sms]")
            page.click("#subscribe button")
            expect(page.locator("h1")).to_have_text("Перевірте пошту")
            letter = inbox[0].wait_for(subscriber)
            assert letter["Subject"] == "Підтвердіть підписку на стан eHealth"
            link = re.search(
                r"https?://\S+/status/subscriptions/confirm\?token=\S+", letter.get_body(("plain",)).get_content()
            )
            assert link is not None
            page.goto(_local(link.group(0), site))
            with psycopg.connect(
                libpq_url(status_db), autocommit=True
            ) as pg:  # opening the link alone confirms nothing
                assert count(pg, "SELECT count(*) FROM status_subscribers WHERE confirmed_at IS NOT NULL") == 0
            page.click("#confirm")
            expect(page.locator("h1")).to_have_text("Підписку підтверджено")
            with psycopg.connect(libpq_url(status_db), autocommit=True) as pg:
                row = pg.execute(
                    "SELECT components, confirmed_at IS NOT NULL FROM status_subscribers WHERE email = %s",
                    (subscriber,),
                ).fetchone()
            assert row == (["api", "sms"], True)

            # A problem report at 360 px wide: everything fits, the form works.
            phone = browser.new_page(viewport={"width": 360, "height": 780}, locale="uk-UA")
            phone.goto(f"{site}/status")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 360
            # Phones see the last 30 days: today's bar is on screen, the bar of 90 days ago is scrolled off.
            bars = phone.locator("li.component[data-component=api] .bars rect")
            today, oldest = bars.nth(89).bounding_box(), bars.nth(0).bounding_box()
            assert today is not None and oldest is not None
            assert 0 < today["x"] and today["x"] + today["width"] <= 360 and oldest["x"] < 0
            assert 30 * today["width"] > 200  # wide enough to read on a phone
            phone.screenshot(path=str(ARTIFACTS / "status-360.png"), full_page=True)
            phone.screenshot(path=str(ARTIFACTS / "status-360-top.png"))
            phone.locator("li.component[data-component=api]").scroll_into_view_if_needed()
            phone.screenshot(path=str(ARTIFACTS / "status-360-components.png"))
            phone.locator("#chart-24h").screenshot(path=str(ARTIFACTS / "status-360-chart.png"))
            phone.fill("#report input[name=facility]", "КНП «Амбулаторія №2»")
            phone.fill("#report input[name=mis]", "Тест-МІС")
            phone.select_option("#report select[name=component]", "signatures")
            phone.fill("#report textarea[name=description]", "Не вдається підписати рецепт: помилка перевірки OCSP.")
            phone.fill("#report input[name=contact_email]", reporter)
            phone.click("#report button")
            expect(phone.locator("h1")).to_contain_text("прийнято")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 360
            ack = inbox[0].wait_for(reporter)
            assert ack["Subject"].startswith("Звернення ") and ack["Subject"].endswith(" отримано")
        finally:
            browser.close()
