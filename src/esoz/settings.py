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
    public_url: str = Field("http://127.0.0.1:8000", description="base URL written into meta.url")

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def demo_accounts_path(self) -> Path:
        return self.data_dir / "demo-accounts.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()
