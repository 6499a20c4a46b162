"""The README stays true: its configuration table lists every setting esoz reads."""

from pathlib import Path

from esoz.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    missing = [f"ESOZ_{name.upper()}" for name in Settings.model_fields if f"`ESOZ_{name.upper()}`" not in README]
    assert missing == [], f"README lacks: {missing} (regenerate the table with `esoz config`)"


def test_readme_gives_the_two_commands() -> None:
    assert "make run" in README and "make test" in README
