import logging

from bot.logs import SecretMaskingFilter, mask_secrets


def test_token_phone_and_email_masked() -> None:
    line = (
        "POST /bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage "
        "to +91 98765 43210, 98765-43210 and asha.patil@example.org"
    )
    masked = mask_secrets(line)
    assert "AAHdqTcv" not in masked
    assert "98765" not in masked
    assert "asha.patil" not in masked
    assert masked.count("<phone>") == 2


def test_telegram_ids_stay_readable() -> None:
    assert mask_secrets("update 42 from user 6123456789 in chat -1001234567890") == (
        "update 42 from user 6123456789 in chat -1001234567890"
    )


def test_filter_rewrites_formatted_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "phone %s", ("+919876543210",), None)
    assert SecretMaskingFilter().filter(record)
    assert record.getMessage() == "phone <phone>"


def test_traceback_masked_by_formatter() -> None:
    from bot.logs import SecretMaskingFormatter

    try:
        raise ValueError("phone (+91) 98765-43210, e-mail asha@example.org, 098765 43210")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    output = SecretMaskingFormatter("%(message)s").format(record)
    assert "Traceback" in output
    assert "98765" not in output
    assert "asha@example.org" not in output
