"""The dashboards in Debian's Chromium (Playwright): every dashboard renders its charts from live rollups, a
filter is applied through the form, a CSV is downloaded, pages fit 360 px; screenshots go to test-artifacts/.
The app runs its own worker here, so a prescription signed while the page is open shows up on reload."""

import csv
import io
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from dash_world import LVIV, World

from esoz.core.db import libpq_url
from esoz.settings import Settings

CHROMIUM = Path(os.environ.get("ESOZ_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PERIOD = "from=2026-01&to=2026-10"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def _prescriptions(client: httpx.Client) -> Any:
    data = client.get(f"/api/dashboards/prescriptions?{PERIOD}").json()["data"]
    return next(f["value"] for f in data["figures"] if f["key"] == "prescriptions")


def _wait(predicate: Any, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_dashboards_in_chromium(world_db: tuple[str, World], live_server: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, world = world_db
    with psycopg.connect(libpq_url(url), autocommit=True) as pg:
        expected = pg.execute("SELECT count(*) FROM medication_requests").fetchone()[0]
    settings = Settings(env="dev", database_url=url, data_dir=tmp_path, log_level="WARNING", db_pool_size=4,
                        dashboards_rollup_seconds=0.2)  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with live_server(settings) as live, httpx.Client(base_url=live.url, timeout=30) as api:
        _wait(lambda: _prescriptions(api) == expected)  # the in-process worker has taken the events in
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="uk-UA", accept_downloads=True)
                page.goto(f"{live.url}/dashboards")
                expect(page.locator("section.card[data-dashboard]")).to_have_count(5)
                charts_per_page = {"records": 2, "prescriptions": 5, "antibiotics": 2, "conclusions": 3, "activity": 1}
                for name, n in charts_per_page.items():
                    page.goto(f"{live.url}/dashboards/{name}?{PERIOD}")
                    expect(page.locator(".chart-box .wide svg.chart")).to_have_count(n)
                    assert page.locator(".chart-box .wide svg.chart :is(rect, polyline, circle)").count() > 0, name
                    expect(page.locator(".figures li")).to_have_count(3)
                    assert page.locator("table caption").count() >= n  # every chart has its table
                # The restriction in force is marked on the antibiotics timeline and listed under it.
                page.goto(f"{live.url}/dashboards/antibiotics?{PERIOD}")
                expect(page.locator("#chart-trend .wide line.marker")).to_have_count(1)
                expect(page.locator("#chart-restrictions tbody tr")).to_have_count(1)
                expect(page.locator("#chart-restrictions tbody")).to_contain_text("Азитроміцин: не довше 5 днів")
                page.screenshot(path=str(ARTIFACTS / "dashboards-antibiotics-desktop.png"), full_page=True)
                page.goto(f"{live.url}/dashboards/prescriptions?{PERIOD}")
                expect(page.locator("[data-figure=prescriptions] .value")).to_have_text(str(expected))
                page.screenshot(path=str(ARTIFACTS / "dashboards-prescriptions-desktop.png"), full_page=True)

                # A filter through the form: Lviv only.
                page.select_option("#filters select[name=region]", LVIV)
                page.click("#filters button")
                expect(page).to_have_url(f"{live.url}/dashboards/prescriptions?from=2026-01&to=2026-10&region={LVIV}"
                                         "&program=")  # fmt: skip
                expect(page.locator("#filters select[name=region]")).to_have_value(LVIV)
                with psycopg.connect(libpq_url(url), autocommit=True) as pg:
                    lviv = pg.execute(
                        "SELECT count(*) FROM medication_requests m JOIN legal_entities le"
                        " ON le.id = m.legal_entity_id WHERE le.region = %s",
                        (LVIV,),
                    ).fetchone()[0]
                expect(page.locator("[data-figure=prescriptions] .value")).to_have_text(str(lviv))

                # The CSV of the chart on screen, with the filter applied.
                with page.expect_download() as info:
                    page.click("#chart-by_region .downloads a:text('CSV')")
                download = info.value
                assert download.suggested_filename == "esoz-prescriptions-by_region-2026-01-2026-10.csv"
                content = Path(download.path()).read_text(encoding="utf-8-sig")
                table = list(csv.DictReader(io.StringIO(content)))
                assert [r["region"] for r in table] == [LVIV]
                assert table[0]["prescriptions"] == str(lviv)

                # Live: a prescription signed now moves the figure on the next load.
                with psycopg.connect(libpq_url(url), autocommit=True) as pg:
                    world.prescription(pg, world.persons[0], date(2026, 10, 20), world.clinics[LVIV], None,
                                       "Amoxicillin-t")  # fmt: skip
                _wait(lambda: _prescriptions(api) == expected + 1)
                page.reload()
                expect(page.locator("[data-figure=prescriptions] .value")).to_have_text(str(lviv + 1))

                # Phones: 360 px wide, nothing scrolls sideways, the narrow charts are drawn.
                phone = browser.new_page(viewport={"width": 360, "height": 780}, locale="uk-UA")
                for name in charts_per_page:
                    phone.goto(f"{live.url}/dashboards/{name}?{PERIOD}")
                    assert phone.evaluate("document.documentElement.scrollWidth") <= 360, name
                    assert phone.locator(".chart-box .narrow svg.chart").first.is_visible()
                    assert not phone.locator(".chart-box .wide svg.chart").first.is_visible()
                    phone.screenshot(path=str(ARTIFACTS / f"dashboards-{name}-360.png"), full_page=True)
                phone.goto(f"{live.url}/dashboards/antibiotics?{PERIOD}")
                phone.locator("#chart-trend").screenshot(path=str(ARTIFACTS / "dashboards-antibiotics-trend-360.png"))
            finally:
                browser.close()
