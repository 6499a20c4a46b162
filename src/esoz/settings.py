"""The one settings object. Every field is read from an `ESOZ_`-prefixed environment variable."""

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.requests import Request


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESOZ_", env_file=".env", extra="ignore")

    # --- runtime ---
    env: Literal["dev", "prod"] = Field(
        "prod",
        description="dev = the sandbox of `make run` / `esoz serve --demo`: /admin/dev/messages shows every SMS code "
        "and link without a token, the dev PKI is trusted, /dev/ocsp answers; listens on loopback only",
    )
    dev_allow_non_loopback_bind: bool = Field(
        False, description="let env=dev listen on a non-loopback address (anyone who reaches it reads the SMS codes)"
    )
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
    database_read_url: str | None = Field(
        None, description="a streaming replica for reads that tolerate lag (registry, searches, events, dashboards)"
    )
    database_direct_url: str | None = Field(
        None, description="the primary itself, for LISTEN (when ESOZ_DATABASE_URL is a PgBouncer); unset = that URL"
    )
    database_pgbouncer: bool = Field(
        False, description="ESOZ_DATABASE_URL is a PgBouncer in transaction mode: no server-side statement caches"
    )
    replica_max_lag_seconds: float = Field(
        5.0, gt=0, le=3600, description="a replica further behind is not read (reads go to the primary)"
    )
    read_your_writes_seconds: float = Field(
        10.0, ge=0, le=3600, description="after a write, the same caller reads the primary this long"
    )
    inprocess_worker: bool = Field(True, description="run background jobs inside `esoz serve` (single node)")
    audit_read_flush_ms: int = Field(
        100, ge=0, le=10_000, description="reads' audit rows are written in batches this often (ms); 0 = one per read"
    )

    # --- admission control (per API worker process; core/admission.py) ---
    # Defaults from bench/README.md's overload runs (1,600 req/s offered to two workers on two cores).
    admission_max_in_flight: int = Field(
        24, ge=0, description="requests one worker runs at a time; 0 = no admission control"
    )
    admission_max_wait_ms: int = Field(
        150, ge=0, le=30_000, description="longest wait for a free slot before the request is refused with 503"
    )
    admission_max_queue: int = Field(256, ge=0, description="requests one worker lets wait for a slot at most")
    admission_retry_after_seconds: int = Field(1, ge=1, le=3600, description="Retry-After of a refused request")

    # --- operations ---
    metrics_allow: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="addresses/CIDRs that may read /metrics (JSON list); others get 404",
    )

    worker_metrics_port: int = Field(0, ge=0, le=65535, description="port of `esoz worker`'s /metrics; 0 = none")
    worker_metrics_host: str = Field("127.0.0.1", description="address `esoz worker`'s /metrics listens on")

    tracing_otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); unset = tracing off"
    )
    tracing_service_name: str = Field("esoz", min_length=1, description="service.name of the exported spans")
    tracing_sample_ratio: float = Field(1.0, ge=0, le=1, description="share of new traces recorded")

    # --- contract layer ---
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest accepted request body")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses/CIDRs of the proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        '(JSON list, e.g. ["10.0.0.0/8"]); empty = the TCP peer is the client',
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the entry that is no address/CIDR
        return value

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

    # --- identity ---
    # Password policy: defaults follow the real system (mithril). NIST SP 800-63B-4 advises against forced
    # rotation: set ESOZ_PASSWORD_MAX_AGE_DAYS=0 to turn it off (see README, "Password policy").
    password_min_length: int = Field(12, ge=8, le=64, description="shortest accepted password (code points)")
    password_max_length: int = Field(128, ge=64, le=1024, description="longest accepted password (bounds hashing)")
    password_require_classes: bool = Field(True, description="require upper, lower (Latin or Cyrillic) and a digit")
    password_max_age_days: int = Field(90, ge=0, description="days until a password expires; 0 = never")
    password_history: int = Field(3, ge=0, le=24, description="how many previous passwords cannot be reused")
    password_min_zxcvbn_score: int = Field(3, ge=0, le=4, description="zxcvbn strength gate; 0 = off")
    login_max_failures: int = Field(10, ge=1, description="failed logins within the window that lock the account")
    login_failures_window_seconds: int = Field(600, ge=1, description="window of the failed-login lock")
    login_max_failures_per_ip: int = Field(20, ge=0, description="failed logins from one IP in the window; 0 = off")
    # Second factor
    two_factor_required: bool = Field(True, description="ask every user for a second factor (SMS or TOTP)")
    otp_length: int = Field(6, ge=6, le=10, description="digits of an SMS code")
    otp_lifetime_seconds: int = Field(300, ge=30, description="validity of an SMS code")
    otp_max_attempts: int = Field(3, ge=1, description="tries per SMS code")
    request_code_max_sends: int = Field(
        5, ge=1, le=50, description="SMS codes one person or declaration request may send (create + resends)"
    )
    otp_send_max: int = Field(3, ge=1, description="SMS codes sent per user within otp_send_window_seconds")
    otp_send_window_seconds: int = Field(60, ge=1, description="window of the SMS send limit (429 otp_timeout)")
    otp_user_error_max: int = Field(3, ge=1, description="wrong codes in a row that block the user")
    # Tokens (the real system's access token lives 30 days; ASVS wants hours, so esoz defaults shorter)
    token_code_seconds: int = Field(300, ge=30, le=600, description="authorization code lifetime")
    token_access_seconds: int = Field(12 * 3600, ge=60, description="access token lifetime")
    token_refresh_seconds: int = Field(7 * 86400, ge=60, description="refresh token lifetime (absolute)")
    token_session_seconds: int = Field(900, ge=60, description="2FA / change-password / app:authorize tokens")
    token_idle_seconds: int = Field(1800, ge=0, description="an access token unused this long expires; 0 = off")
    token_cache_seconds: int = Field(
        30, ge=0, description="a verified access token is reused per worker this long (revocation evicts it); 0 = off"
    )
    recovery_ttl_seconds: int = Field(1500, ge=60, le=3600, description="credentials recovery link lifetime")
    recovery_max_per_account: int = Field(
        3, ge=1, description="recovery e-mails one account gets per recovery_window_seconds (more are not sent)"
    )
    # at most a day: used links are pruned a day after they expire, and the limit counts them
    recovery_window_seconds: int = Field(
        3600, ge=60, le=86400, description="window of the per-account recovery e-mail limit"
    )
    factor_change_window_seconds: int = Field(
        300, ge=30, le=3600, description="a second-factor change must follow the password and 2FA step-up this soon"
    )
    oauth_contract_codes_without_pkce: bool = Field(
        True, description="POST /oauth/tokens (the contract's) accepts codes issued without PKCE; false refuses them"
    )
    # Rate limits, shared by all workers (PostgreSQL, or Redis when redis_url is set); 0 = off
    redis_url: str | None = Field(None, description="Redis for rate-limit counters; unset = PostgreSQL")
    ratelimit_auth_per_ip: int = Field(
        120,
        ge=0,
        description="requests to /auth, /oauth, /sign-in per IP per window (the MIS server's client-authenticated "
        "token exchange, introspection and revocation count in the API per-IP limit instead)",
    )
    ratelimit_api_per_client: int = Field(6000, ge=0, description="API requests per client (legal entity) per window")
    ratelimit_api_per_ip: int = Field(6000, ge=0, description="API requests per IP per window")
    ratelimit_window_seconds: int = Field(60, ge=1, description="fixed window of the rate limits")

    # --- delivery ---
    # Outbox dispatcher (esoz worker, or in-process in `esoz serve`)
    outbox_poll_seconds: float = Field(0.5, gt=0, description="how often an idle dispatcher looks for due rows")
    outbox_batch_size: int = Field(200, ge=1, le=5000, description="rows claimed per batch")
    outbox_lease_seconds: float = Field(60, gt=0, description="a claimed row is claimed again after this (dead worker)")
    outbox_max_attempts: int = Field(10, ge=1, description="attempts before a row goes to dead-letter")
    outbox_backoff_base_seconds: float = Field(2, gt=0, description="first retry delay; doubles per attempt, jittered")
    outbox_backoff_cap_seconds: float = Field(3600, gt=0, description="longest retry delay")
    outbox_concurrency: int = Field(16, ge=1, description="recipients served at once per batch")
    outbox_retention_days: float = Field(14, gt=0, description="delivered rows kept this long (dev view reads them)")
    outbox_dead_retention_days: float = Field(90, gt=0, description="dead-letter rows kept this long")
    # SMS: "log" (dev: stored, shown at /admin/dev/messages) or "http" (configurable JSON-over-HTTP gateway)
    sms_provider: Literal["log", "http"] = Field("log", description="SMS provider")
    sms_http_url: str | None = Field(None, description="URL the http provider POSTs each SMS to")
    sms_http_auth_header: str | None = Field(None, description='auth header sent to the provider, "Name: value"')
    sms_http_body_template: str = Field(
        '{"to": "$phone", "text": "$text", "message_id": "$idempotency_key", "callback_url": "$callback_url"}',
        description="JSON body; $phone, $text, $idempotency_key, $kind, $callback_url, $sender are substituted",
    )
    sms_http_idempotency_header: str = Field("Idempotency-Key", description="header carrying the message's key")
    sms_http_message_id_path: str = Field("id", description="dotted path of the provider's message id in its answer")
    sms_http_timeout_seconds: float = Field(10, gt=0, le=120, description="per request to the provider")
    sms_sender: str = Field("eHealth", description="alpha name the SMS is sent from ($sender)")
    sms_receipt_base_url: str | None = Field(
        None, description="public base URL of esoz for receipt callbacks ($callback_url); unset = no callbacks"
    )
    sms_receipt_token: str | None = Field(None, description="secret the provider's receipt callbacks must carry")
    sms_receipt_id_path: str = Field("message_id", description="dotted path of the message id in a receipt")
    sms_receipt_status_path: str = Field("status", description="dotted path of the delivery status in a receipt")
    # E-mail: "log" (dev) or "smtp" (aiosmtplib)
    email_provider: Literal["log", "smtp"] = Field("log", description="e-mail provider")
    email_from: str = Field("esoz <noreply@esoz.local>", description="From: of outgoing e-mail")
    smtp_host: str = Field("127.0.0.1", description="SMTP relay host")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP relay port")
    smtp_username: str | None = Field(None, description="SMTP login; unset = no AUTH")
    smtp_password: str | None = Field(None, description="SMTP password")
    smtp_tls: Literal["none", "starttls", "tls"] = Field("none", description="none, STARTTLS, or implicit TLS (465)")
    smtp_timeout_seconds: float = Field(10, gt=0, le=120, description="per SMTP conversation")
    # Event feed
    events_retention_days: float = Field(31, gt=0, description="status-change events kept this long")
    events_max_window_hours: float = Field(3, gt=0, description="widest date window of GET /api/events")
    nats_url: str | None = Field(None, description="NATS server; set = publish events to JetStream")
    nats_stream: str = Field("ESOZ_EVENTS", description="JetStream stream (created if missing)")
    nats_subject_prefix: str = Field("esoz.events", description="subject = <prefix>.<entity_type>")

    # --- registry requests ---
    # A doctor's active declarations across all employments (the real system's PRM values); a doctor's own
    # limit (parties.declaration_limit) overrides these.
    declaration_limit_family_doctor: int = Field(1800, ge=0, description="declarations per family doctor")
    declaration_limit_therapist: int = Field(2000, ge=0, description="declarations per therapist")
    declaration_limit_pediatrician: int = Field(900, ge=0, description="declarations per pediatrician")

    def declaration_limit(self, speciality: str) -> int | None:
        """The default limit of a speciality that signs declarations; None for the others."""
        limits = {
            "FAMILY_DOCTOR": self.declaration_limit_family_doctor,
            "THERAPIST": self.declaration_limit_therapist,
            "PEDIATRICIAN": self.declaration_limit_pediatrician,
        }
        return limits.get(speciality)

    # --- conclusions ---
    # E-referrals (service requests) and medical conclusions (compositions), the ПФУ e-sick-leave connector.
    service_request_expiration_days: int = Field(7, ge=1, le=365, description="an active referral expires after")
    service_request_sms_on_create: bool = Field(True, description="SMS the patient the referral's number on create")
    service_request_requisition_key: str = Field(
        "esoz-dev-requisition-key", min_length=8, description="secret key of the requisition-number hash"
    )
    service_request_expiry_seconds: float = Field(60, gt=0, description="period of the referral expiry job")
    composition_sms: bool = Field(True, description="SMS the patient when a conclusion is signed")
    pfu_url: str | None = Field(None, description="base URL of the ПФУ e-sick-leave registry; unset = not sent")
    pfu_timeout_seconds: float = Field(5, gt=0, le=60, description="per request to the ПФУ registry")
    pfu_poll_seconds: float = Field(0.2, gt=0, description="how often the ПФУ dispatcher looks for due tasks")
    pfu_max_attempts: int = Field(500, ge=1, description="attempts before a ПФУ task goes to dead-letter")
    pfu_backoff_base_seconds: float = Field(1, gt=0, description="first retry delay of a ПФУ task")
    pfu_backoff_cap_seconds: float = Field(60, gt=0, description="longest retry delay of a ПФУ task")
    pfu_signing_cert: Path | None = Field(None, description="PEM certificate of the system's seal; unset = dev PKI")
    pfu_signing_key: Path | None = Field(None, description="PEM key of the system's seal; unset = dev PKI")

    # --- prescriptions ---
    # Defaults follow the real system (contract §9.2); medical programme settings override some per programme.
    mrr_expiration_minutes: int = Field(30, ge=1, description="an unsigned medication request request expires")
    mrr_delay_input_days: int = Field(3, ge=0, description="how far back created_at of a prescription may be dated")
    mr_standard_duration_days: int = Field(21, ge=1, description="a course this long renews in the max window")
    mr_min_renew_days: int = Field(3, ge=0, description="renewal window (days before the end) of short courses")
    mr_max_renew_days: int = Field(7, ge=0, description="renewal window (days before the end) of standard courses")
    mr_code_max_attempts: int = Field(
        5, ge=1, le=100, description="wrong patient codes a pharmacy may send for one prescription before it is refused"
    )
    md_expiration_minutes: int = Field(10, ge=1, description="an unprocessed medication dispense expires")
    md_discount_tolerance: float = Field(0.01, ge=0, description="UAH a discount may exceed the reimbursement by")
    md_discount_deviation: float = Field(0.1, ge=0, le=1, description="share a discount may fall short of it by")
    prescriptions_jobs_seconds: float = Field(60, gt=0, description="period of the prescription expiry jobs")

    # --- approvals ---
    # A patient's SMS-confirmed consent that opens their medical records to a doctor (contract: Approvals).
    approval_expiration_hours: float = Field(
        24, gt=0, le=8760, description="a verified approval opens access this long"
    )
    approval_code_lifetime_seconds: int = Field(900, ge=30, description="validity of an approval's SMS code")
    approval_code_max_attempts: int = Field(
        3, ge=1, le=10, description="wrong codes before an approval's code is burnt"
    )
    approval_code_max_sends: int = Field(
        5, ge=1, le=50, description="SMS codes one approval may send (create + resends)"
    )
    # The vaccination certificate (EU DCC format: CBOR, COSE_Sign1 ES256, zlib, base45, HC1:).
    certificate_signing_key: Path | None = Field(
        None, description="PEM EC P-256 key that signs vaccination certificates; unset = dev key in data_dir/pki"
    )
    certificate_issuer: str = Field("UA", min_length=2, max_length=2, description="issuer country of certificates")
    certificate_validity_days: int = Field(
        365, ge=1, le=3650, description="a vaccination certificate is valid this long"
    )

    # --- status ---
    status_public_url: str | None = Field(
        None, description="public base URL of esoz for links in status e-mails; unset = http://host:port"
    )
    status_flush_seconds: float = Field(10, gt=0, description="how often measured request metrics reach PostgreSQL")
    status_sample_seconds: float = Field(60, gt=0, description="how often component health is probed and recorded")
    status_retention_days: int = Field(90, ge=1, description="per-minute metrics and health samples kept this long")
    status_notice_hours: float = Field(24, gt=0, description="e-mail subscribers this long before planned maintenance")
    status_limit_per_ip: int = Field(5, ge=0, description="problem reports, subscriptions per IP per window; 0 = off")
    status_limit_window_seconds: int = Field(60, ge=1, description="window of the status page's per-IP limits")
    status_report_max_chars: int = Field(5000, ge=100, description="longest problem description")
    status_probe_timeout_seconds: float = Field(3, gt=0, le=30, description="per CA/OCSP/ПФУ reachability probe")
    status_pfu_probe_url: str | None = Field(None, description="URL probed for the ПФУ connector; unset = ESOZ_PFU_URL")

    # --- dashboards ---
    dashboards_rollup_seconds: float = Field(5, gt=0, description="how often the dashboards take in new events")
    dashboards_rollup_batch: int = Field(5000, ge=1, description="most events the dashboards take in per run")

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def demo_accounts_path(self) -> Path:
        return self.data_dir / "demo-accounts.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_of(request: Request) -> Settings:
    """The settings the app serving this request was made with (create_app keeps them in app.state)."""
    settings: Settings = request.app.state.settings
    return settings


def settings_table() -> str:
    """Markdown table of every setting: the README's configuration section is generated from it."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        default = "" if default is None else ",".join(default) if isinstance(default, list) else str(default)
        lines.append(f"| `ESOZ_{name.upper()}` | `{default}` | {info.description or ''} |")
    return "\n".join(lines)
