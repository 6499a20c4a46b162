"""The one settings object. Every field is read from an `ESOZ_`-prefixed environment variable."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESOZ_", env_file=".env", extra="ignore")

    # --- runtime ---
    env: Literal["dev", "prod"] = Field("dev", description="dev enables /admin without auth and dev pages")
    host: str = Field("127.0.0.1", description="address `esoz serve` binds to")
    port: int = Field(8000, description="port `esoz serve` binds to")
    workers: int = Field(1, ge=1, description="API worker processes of `esoz serve`")
    data_dir: Path = Field(Path("var"), description="local state: embedded PostgreSQL, PKI, demo accounts")
    log_level: str = Field("INFO", description="root log level")
    log_format: Literal["json", "console"] = Field("json", description="structured log rendering")

    # --- database ---
    database_url: str | None = Field(
        None, description="PostgreSQL 15+ URL; unset = start the embedded server in data_dir/pg"
    )
    db_pool_size: int = Field(10, ge=1, description="connections per worker process")
    inprocess_worker: bool = Field(True, description="run background jobs inside `esoz serve` (single node)")

    # --- contract layer ---
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest accepted request body")

    # --- signatures ---
    # Lists are read from the environment as JSON, e.g. ESOZ_SIGNATURES_OCSP_HOSTS='["ocsp.example.ua"]'.
    signatures_trust_paths: list[Path] = Field(
        default_factory=list, description="CA certificates of accepted qualified providers: folders or PEM bundles"
    )
    signatures_pki_dir: Path | None = Field(None, description="dev PKI folder; unset = data_dir/pki")
    signatures_trust_dev_ca: bool | None = Field(
        None, description="trust the dev PKI's CA; unset = only when env=dev; never honoured in prod"
    )
    signatures_dev_ocsp: bool | None = Field(
        None, description="answer OCSP for the dev CA (POST /dev/ocsp and during verification); unset = env=dev"
    )
    signatures_crl_urls: list[str] = Field(
        default_factory=list, description="CRLs the refresh job downloads; each host must be in signatures_crl_hosts"
    )
    signatures_crl_hosts: list[str] = Field(default_factory=list, description="hosts CRLs may be downloaded from")
    signatures_crl_refresh_seconds: float = Field(900, gt=0, description="period of the CRL refresh job")
    signatures_ocsp_hosts: list[str] = Field(
        default_factory=list, description="OCSP responders that may be asked while verifying (nothing else is)"
    )
    signatures_ocsp_timeout_seconds: float = Field(1.5, gt=0, le=10, description="per OCSP request")
    signatures_cert_cache_seconds: int = Field(1800, ge=0, description="how long a verified certificate is trusted")
    signatures_require_timestamp: bool = Field(False, description="accept CAdES-T only (the real system does)")
    signatures_max_cms_bytes: int = Field(512 * 1024, ge=1024, description="largest decoded CMS accepted")
    signatures_max_certificates: int = Field(16, ge=1, description="certificates embedded in one CMS")
    signatures_max_signers: int = Field(4, ge=1, description="signatures and stamps in one document, all levels")

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def demo_accounts_path(self) -> Path:
        return self.data_dir / "demo-accounts.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_table() -> str:
    """Markdown table of every setting: the README's configuration section is generated from it."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        default = "" if default is None else ",".join(default) if isinstance(default, list) else str(default)
        lines.append(f"| `ESOZ_{name.upper()}` | `{default}` | {info.description or ''} |")
    return "\n".join(lines)
