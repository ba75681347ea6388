"""The audit key comes from settings; production refuses to run without a strong one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import PLACEHOLDER_SECRET, Settings

SECRET = "Zq7#pL2v9XkR4mWn8TbY3cHs6JdF1gAe"
STRONG = "u8Kc2#RfN5pXq9LzW3mVb7TyH4sGd6Ja"


def production(**kwargs: str | None) -> Settings:
    return Settings(environment="production", secret_key=SECRET, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("audit_key", [None, "", PLACEHOLDER_SECRET, "audit-key-placeholder-0123456789abc",
                                       "too-short-audit-key", "a" * 40, "abab" * 10, SECRET])
def test_production_refuses_a_missing_or_weak_audit_key(audit_key: str | None) -> None:
    with pytest.raises(ValidationError, match="GOVFLOW_AUDIT_KEY"):
        production(audit_key=audit_key)


def test_production_takes_a_strong_audit_key_as_it_is() -> None:
    assert production(audit_key=STRONG).audit_hmac_key() == STRONG.encode()


def test_development_derives_a_stable_key_from_the_secret_key() -> None:
    one = Settings(environment="development", secret_key=SECRET).audit_hmac_key()
    assert one == Settings(environment="test", secret_key=SECRET).audit_hmac_key()
    assert one != Settings(environment="test", secret_key=STRONG).audit_hmac_key()
    assert len(one) == 32 and SECRET.encode() not in one
