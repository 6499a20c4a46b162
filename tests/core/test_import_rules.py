"""The import rules in pyproject.toml cover every domain: a new domain cannot slip past them."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "esoz"
# Packages that are not domains: shared code and the web assets.
NOT_DOMAINS = {"core", "web"}


def _contracts() -> list[dict]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["importlinter"]["contracts"]


def _domains() -> set[str]:
    return {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_DOMAINS
    }


def test_core_is_forbidden_every_domain() -> None:
    (core,) = [c for c in _contracts() if c.get("source_modules") == ["esoz.core"]]
    forbidden = set(core["forbidden_modules"])
    assert {f"esoz.{d}" for d in _domains()} <= forbidden


def test_every_domain_is_forbidden_every_other_domains_tables() -> None:
    with_tables = {d for d in _domains() if (PACKAGE / d / "models.py").exists()}
    by_source = {
        c["source_modules"][0]: set(c["forbidden_modules"])
        for c in _contracts()
        if c["type"] == "forbidden" and c["name"].endswith("reads no other domain's tables")
    }
    for domain in _domains():
        assert f"esoz.{domain}" in by_source, f"no table rule for {domain}"
        expected = {f"esoz.{o}.models" for o in with_tables - {domain}}
        assert expected <= by_source[f"esoz.{domain}"], (domain, expected - by_source[f"esoz.{domain}"])


def test_every_domain_has_a_layer() -> None:
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    named = {m.strip().removeprefix("esoz.") for layer in layers["layers"] for m in layer.split("|")}
    assert _domains() <= named, _domains() - named
