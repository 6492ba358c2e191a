import pytest

from bot.config import ConfigError, load_settings


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BOT_TOKEN", "DATABASE_URL", "FACILITATOR_IDS", "TIMEZONE", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert settings.bot_token is None
    assert settings.timezone == "Asia/Kolkata"
    assert settings.default_locale == "en"
    assert settings.facilitator_ids == []
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("data/cop.sqlite")


def test_facilitator_ids_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACILITATOR_IDS", "12345, 67890")
    assert load_settings(_env_file=None).facilitator_ids == [12345, 67890]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FACILITATOR_IDS", "asha,ravi"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LOCALE", "fr"),
        ("BOT_TOKEN", "not-a-token"),
        ("DATABASE_URL", "mysql://localhost/cop"),
        ("REDIS_URL", "localhost:6379"),
        ("BOT_API_URL", "api.telegram.org"),
    ],
)
def test_invalid_value_names_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    message = str(raised.value)
    assert f"Invalid {variable}" in message
    assert ": expected" in message
    if variable in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL"):
        assert value not in message
    else:
        assert repr(value) in message


def test_token_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    monkeypatch.setenv("BOT_TOKEN", token)
    settings = load_settings(_env_file=None)
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == token
    assert token not in repr(settings)
