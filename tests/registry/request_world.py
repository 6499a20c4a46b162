"""Helpers of the request tests: the medical-events test world (clinics whose doctors hold dev-PKI
certificates), the SMS code a patient received, and the request calls an MIS makes."""

import re
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "referrals"))

from me_world import Clinic, Doctor, World, sign

from esoz.signatures.devpki import DevPki

SCOPES = [
    "declaration_request:read",
    "declaration_request:write",
    "declaration_request:approve",
    "declaration_request:sign",
    "declaration_request:reject",
    "otp:write",
    "person_request:read",
    "person_request:write",
    "declaration:read",
    "declaration:terminate",
    "person:read",
]

__all__ = ["SCOPES", "Clinic", "Doctor", "World", "code_from", "make_world", "sign"]


def make_world(api: httpx.Client, dev_pki: DevPki, headers_for: Any) -> World:
    return World(api, dev_pki, lambda le: headers_for(le, scopes=SCOPES))


def code_from(world: World, phone: str, marker: str, seen: int = 0) -> str:
    """The newest code in an SMS to `phone` whose text contains `marker` (after `seen` such messages)."""
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        texts = [m["text"] for m in world.sms_to(phone) if marker in (m.get("text") or "")]
        if len(texts) > seen:
            found = re.search(r"(\d{4,10})\s*$", texts[0])  # newest first
            if found:
                return found.group(1)
        time.sleep(0.1)
    pytest.fail(f"no code SMS to {phone}")


def new_id() -> str:
    return str(uuid.uuid4())
