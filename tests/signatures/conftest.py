"""A throw-away PKI per test session, generated with `cryptography`; no key material is committed."""

import pytest
from sigfixtures import Pki, make_pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return make_pki()
