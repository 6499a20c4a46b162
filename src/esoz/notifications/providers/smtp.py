"""E-mail over an SMTP relay (aiosmtplib). Temporary SMTP failures (4xx, connection) are retried;
a permanent rejection (5xx) of the recipient or message is dead-lettered."""

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from esoz.core.outbox import Message, PermanentError, TransientError


class SmtpProvider:
    provider = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        tls: str = "none",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.tls, self.timeout = tls, timeout_seconds

    def build(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = str(message.payload.get("subject", ""))
        # A stable Message-ID from the idempotency key lets receiving systems spot a redelivery.
        domain = self.sender.rsplit("@", 1)[-1].strip(">") or "esoz.local"
        email["Message-ID"] = make_msgid(idstring=message.idempotency_key.replace(":", "."), domain=domain)
        email["X-Esoz-Idempotency-Key"] = message.idempotency_key
        if unsubscribe := message.payload.get("unsubscribe_url"):
            # RFC 2369 + RFC 8058: the link answers a POST with `List-Unsubscribe=One-Click` (status pages do).
            email["List-Unsubscribe"] = f"<{unsubscribe}>"
            email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email.set_content(str(message.payload.get("text", "")))
        if html := message.payload.get("html"):
            email.add_alternative(str(html), subtype="html")
        return email

    async def deliver(self, message: Message) -> str | None:
        email = self.build(message)
        try:
            await aiosmtplib.send(
                email,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.tls == "tls",
                start_tls=self.tls == "starttls",
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentError(f"SMTP relay refused the recipient: {reason}") from exc
            raise TransientError(f"SMTP relay deferred the recipient: {reason}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentError(f"SMTP relay rejected the message: {exc.code} {exc.message}") from exc
            raise TransientError(f"SMTP relay answered {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"SMTP relay unreachable ({type(exc).__name__}: {exc})") from exc
        return str(email["Message-ID"])

    async def aclose(self) -> None:
        return None
