"""Every inline button's callback data has a prefix of its own."""

from __future__ import annotations

import inspect

from aiogram.filters.callback_data import CallbackData

from handlers import callbacks


def callback_classes() -> list[type[CallbackData]]:
    return [
        value
        for _name, value in inspect.getmembers(callbacks, inspect.isclass)
        if issubclass(value, CallbackData) and value is not CallbackData
    ]


def test_callback_prefixes_unique() -> None:
    prefixes = [cls.__prefix__ for cls in callback_classes()]

    assert len(prefixes) > 20
    assert sorted(prefixes) == sorted(set(prefixes))


def test_callback_prefixes_end_with_version() -> None:
    for cls in callback_classes():
        assert cls.__prefix__[-1].isdigit(), cls.__name__
