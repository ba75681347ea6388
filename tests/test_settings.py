"""Issue 9, hole 8: production refuses time travel and weak secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import PLACEHOLDER_SECRET, Settings, check_secret, weak_secret_reason

STRONG = "q7Rk2-Vd9xWmZp4LsT0bYc8NfHe3JuGa6Q1iKoB5rMw"
AUDIT_KEY = "u8Kc2#RfN5pXq9LzW3mVb7TyH4sGd6Ja"


def _production(**kw: object) -> Settings:
    kw.setdefault("audit_key", AUDIT_KEY)
    return Settings(_env_file=None, environment="production", **kw)  # type: ignore[arg-type,call-arg]


def test_production_refuses_time_travel() -> None:
    with pytest.raises(ValidationError, match="GOVFLOW_ENABLE_TIME_TRAVEL"):
        _production(secret_key=STRONG, enable_time_travel=True)
    assert _production(secret_key=STRONG).enable_time_travel is False


@pytest.mark.parametrize("secret", [
    "a" * 32, "a" * 64, "abcd" * 8, "0123456789abcdef" * 2, "abcdefghijklmnopqrstuvwxyz012345",
    "1234567890" * 4, PLACEHOLDER_SECRET, "short-but-random-Xy7Q", "CHANGE-ME-please-0123456789-abcdefghijk",
    "",
])
def test_production_refuses_weak_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="GOVFLOW_SECRET_KEY 不能用于生产环境"):
        _production(secret_key=secret)


# Fixed samples of secrets.token_urlsafe(32), token_hex(32) and token_urlsafe(64) (fixed: xdist needs
# the same test ids in every worker).
@pytest.mark.parametrize("secret", [
    STRONG, "xa2FJgtDPCwERAX8Ikh9hLikJsAT7ohVXobGaUA2Avw",
    "e138ddcfd4158b9fdd225b33eebb464f3cc1912a3b89c4633c29f6c99cf606e3",
    "msYKkZmqbEZzcD7YOPmlvU5M_oU6mwwutVZmQnKD3FsgN0fGNCv7dR9gOqGqR5mCE9hb3dMafofN41_gaTQbwA",
])
def test_production_accepts_random_secrets(secret: str) -> None:
    assert _production(secret_key=secret).secret_key == secret


def test_development_keeps_its_placeholder_and_time_travel() -> None:
    s = Settings(_env_file=None, environment="development", enable_time_travel=True)  # type: ignore[call-arg]
    assert s.secret_key == PLACEHOLDER_SECRET and s.enable_time_travel


def test_the_check_is_reusable_and_names_its_setting() -> None:
    assert weak_secret_reason(STRONG) is None
    with pytest.raises(ValueError, match="GOVFLOW_AUDIT_KEY 不能用于生产环境：由同一片段重复组成"):
        check_secret("GOVFLOW_AUDIT_KEY", "ab" * 20)
