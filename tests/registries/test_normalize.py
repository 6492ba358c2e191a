"""Tests of the pure normalisers in storage.normalize."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.normalize import (
    count_letters,
    english_word_forms,
    fold,
    load_commodities,
    load_hindi_words,
    name_key,
    parse_buyer_type,
    parse_date,
    parse_phone,
    parse_state,
    split_states,
    words,
)


def test_fold_collapses_case_and_space():
    assert fold("  Harit   AGRO\tProcessors ") == "harit agro processors"


def test_fold_keeps_devanagari():
    assert fold(" मिर्च  ") == "मिर्च"


def test_fold_normalises_to_nfc():
    decomposed = "e\u0301cole"
    assert fold(decomposed) == "\u00e9cole"


def test_words_keep_matras_inside_words():
    assert words("हल्दी, मिर्च") == ["हल्दी", "मिर्च"]
    assert words("मिर्च") == ["मिर्च"]


def test_words_split_on_punctuation():
    assert words("Tomato/Chilli; e-NAM (10K FPO)") == ["Tomato", "Chilli", "e", "NAM", "10K", "FPO"]


def test_name_key_ignores_case_space_punctuation():
    assert name_key("  harit agro processors pvt ltd ") == "harit agro processors pvt ltd"
    assert name_key("Harit Agro Processors Pvt. Ltd.") == "harit agro processors pvt ltd"


def test_count_letters_skips_matras():
    assert count_letters("मिर्च") == 3
    assert count_letters("मि") == 1
    assert count_letters("tumeric") == 7


@given(st.text(max_size=40))
def test_words_never_contain_separators(text):
    for word in words(text):
        assert word.strip() == word
        assert word
        assert "," not in word


@pytest.mark.parametrize(
    "raw",
    [
        "09876501234",
        "+91-98765 01234",
        "919876501234",
        "98765-01234",
        "+91 98765 01234",
        "(+91) 98765 01234",
        "0091 98765 01234",
        "0091-9876501234",
        "9876501234",
        "98765.01234",
        9876501234,
        9876501234.0,
    ],
)
def test_parse_phone_accepts_indian_formats(raw):
    assert parse_phone(raw) == "+919876501234"


def test_parse_phone_keeps_other_mobile_prefixes():
    assert parse_phone("+91 70000 87741") == "+917000087741"
    assert parse_phone("6123456789") == "+916123456789"


def test_parse_phone_ten_digits_starting_91():
    # A mobile number may itself start with 91; it must not lose those digits.
    assert parse_phone("9198765432") == "+919198765432"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12345", "12345 has 5 digits; an Indian mobile number has 10, like 98765 43210"),
        ("+91 98765 0123", "has 9 digits"),
        ("98765012345678", "has 14 digits"),
        ("020 2553 1234", "landline numbers are not accepted"),
        ("5876501234", "start with 6, 7, 8 or 9"),
        ("+44 20 7946 0958", "not an Indian number"),
        ("98765O1234", "use only digits"),
        ("", "empty"),
    ],
)
def test_parse_phone_rejects_with_reason(raw, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        parse_phone(raw)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45590, dt.date(2024, 10, 25)),
        (45590.0, dt.date(2024, 10, 25)),
        ("45590", dt.date(2024, 10, 25)),
        (dt.datetime(2024, 10, 25, 14, 30), dt.date(2024, 10, 25)),
        (dt.date(2024, 10, 25), dt.date(2024, 10, 25)),
        ("2024-11-03", dt.date(2024, 11, 3)),
        ("2024-11-03 00:00:00", dt.date(2024, 11, 3)),
        ("12/10/2024", dt.date(2024, 10, 12)),
        ("12-10-2024", dt.date(2024, 10, 12)),
        ("12.10.2024", dt.date(2024, 10, 12)),
        ("3/1/25", dt.date(2025, 1, 3)),
        ("15 Dec 2026", dt.date(2026, 12, 15)),
        ("15 December 2026", dt.date(2026, 12, 15)),
        ("15-Dec-2026", dt.date(2026, 12, 15)),
        ("Dec 15, 2026", dt.date(2026, 12, 15)),
        ("Dec 2026", dt.date(2026, 12, 1)),
        ("September 2025", dt.date(2025, 9, 1)),
        ("2025-06", dt.date(2025, 6, 1)),
        ("06/2025", dt.date(2025, 6, 1)),
        ("29/02/2024", dt.date(2024, 2, 29)),
    ],
)
def test_parse_date_forms(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2025", "31/02/2025 is not a real date: February 2025 has 28 days"),
        ("29/02/2023", "February 2023 has 28 days"),
        ("31/04/2025", "April 2025 has 30 days"),
        ("12/13/2024", "there is no month 13"),
        ("2025-13", "there is no month 13"),
        ("32 Jan 2025", "January 2025 has 31 days"),
        ("15 Foo 2025", "'foo' is not a month name"),
        ("99999", "outside the years 1990-2099"),
        (5, "outside the years 1990-2099"),
        ("next week", "not a date in a known form"),
    ],
)
def test_parse_date_rejects_with_reason(value, message):
    with pytest.raises(ValueError, match=message):
        parse_date(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MH", "Maharashtra"),
        ("mh", "Maharashtra"),
        ("maharashtra", "Maharashtra"),
        ("महाराष्ट्र", "Maharashtra"),
        ("KA", "Karnataka"),
        ("कर्नाटक", "Karnataka"),
        ("UP", "Uttar Pradesh"),
        ("M.P.", "Madhya Pradesh"),
        ("TN", "Tamil Nadu"),
        ("Tamil-Nadu", "Tamil Nadu"),
        ("AP", "Andhra Pradesh"),
        ("TS", "Telangana"),
        ("TG", "Telangana"),
        ("GJ", "Gujarat"),
        ("RJ", "Rajasthan"),
        ("WB", "West Bengal"),
        ("पश्चिम बंगाल", "West Bengal"),
        ("OD", "Odisha"),
        ("OR", "Odisha"),
        ("Orissa", "Odisha"),
        ("BR", "Bihar"),
        ("बिहार", "Bihar"),
        ("J&K", "Jammu and Kashmir"),
        ("Pondicherry", "Puducherry"),
        ("NCT of Delhi", "Delhi"),
        ("Uttaranchal", "Uttarakhand"),
    ],
)
def test_parse_state_names_abbreviations_hindi(text, expected):
    assert parse_state(text) == expected


def test_parse_state_unknown():
    assert parse_state("Atlantis") is None
    assert parse_state("") is None


def test_split_states_keeps_and_names_whole():
    assert split_states("MH; Karnataka, उत्तर प्रदेश / Jammu and Kashmir") == [
        "Maharashtra",
        "Karnataka",
        "Uttar Pradesh",
        "Jammu and Kashmir",
    ]
    assert split_states("Bihar and Odisha") == ["Bihar", "Odisha"]
    assert split_states("") == []


def test_split_states_names_unknown_with_suggestion():
    with pytest.raises(ValueError, match=r"'Maharastra' is not .*did you mean Maharashtra"):
        split_states("Maharastra, Bihar")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("chilli", "chilli"),
        ("Chillies", "chilli"),
        ("mirchi", "chilli"),
        ("मिर्च", "chilli"),
        ("मिरची", "chilli"),
        ("kanda", "onion"),
        ("कांदा", "onion"),
        ("प्याज", "onion"),
        ("Tomatoes", "tomato"),
        ("mangoes", "mango"),
        ("ONIONS", "onion"),
        ("red  gram", "pigeon pea"),
        ("Pigeon-Pea", "pigeon pea"),
        ("उड़द", "black gram"),
        ("उडद", "black gram"),
        ("हळद", "turmeric"),
        ("nachni", "finger millet"),
    ],
)
def test_commodity_canonical_any_language(word, expected):
    assert load_commodities().canonical(word) == expected


def test_commodity_canonical_unknown_and_typo():
    commodities = load_commodities()
    assert commodities.canonical("jackfruit") is None
    # Typos are corrected only in search.
    assert commodities.canonical("tumeric") is None


def test_commodity_split_separators():
    commodities = load_commodities()
    assert commodities.split("Tomato, Chilli") == ["tomato", "chilli"]
    assert commodities.split("Mango; Pomegranate") == ["mango", "pomegranate"]
    assert commodities.split("हल्दी, मिर्च") == ["turmeric", "chilli"]
    assert commodities.split("kanda and aloo / Jackfruit | onion") == [
        "onion",
        "potato",
        "jackfruit",
    ]
    assert commodities.split("") == []


def test_commodity_synonyms_for_expansion():
    synonyms = load_commodities().synonyms("onion")
    assert synonyms[0] == "onion"
    assert "kanda" in synonyms
    assert "प्याज" in synonyms
    assert load_commodities().synonyms("jackfruit") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wholesale", "wholesaler"),
        ("Wholesalers", "wholesaler"),
        ("Modern Trade", "modern trade"),
        ("E-commerce", "e-commerce"),
        ("ecommerce", "e-commerce"),
        ("Processor", "processor"),
        ("Exporter", "exporter"),
        ("Processor / Exporter", "processor"),
        ("Institutional", "institutional"),
        ("Aggregator", "aggregator"),
        ("retail", "retailer"),
        ("Something else", "other"),
        ("", None),
        (None, None),
    ],
)
def test_parse_buyer_type(text, expected):
    assert parse_buyer_type(text) == expected


@pytest.mark.parametrize(
    "raw",
    ["९८७६५४३२१०", "+९१ ९८७६५ ४३२१०", "०९८७६५४३२१०", "９８７６５４３２１０", "+91 ९८७६५-४३२१०"],
)
def test_phone_unicode_digits(raw):
    assert parse_phone(raw) == "+919876543210"


def test_phone_unicode_digits_still_validated():
    with pytest.raises(ValueError, match="has 5 digits"):
        parse_phone("१२३४५")


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("मिर्ची", "chilli"),
        ("मिरची", "chilli"),
        ("प्याज़", "onion"),
        ("प्याज", "onion"),
        ("गेहूँ", "wheat"),
        ("गेहूं", "wheat"),
        ("मूँग", "green gram"),
        ("मूँगफली", "groundnut"),
        ("सब्ज़ियाँ", "vegetables"),
        ("अँगूर", "grapes"),
        ("उडीद", "black gram"),
        ("तांदूळ", "rice"),
    ],
)
def test_hindi_marathi_commodity_spellings(spelling, canonical):
    assert load_commodities().canonical(spelling) == canonical


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("warehouse", ["warehouse", "warehouses"]),
        ("loans", ["loans", "loan"]),
        ("subsidy", ["subsidy", "subsidies"]),
        ("subsidies", ["subsidies", "subsidy"]),
        ("box", ["box", "boxes"]),
        ("class", ["class", "classes"]),
        ("as", ["as"]),
        ("गोदाम", ["गोदाम"]),
        ("FPO", ["FPO"]),
    ],
)
def test_english_word_forms(word, forms):
    assert english_word_forms(word) == forms


def test_hindi_words_list():
    hindi = load_hindi_words()
    assert hindi.keyword("गोदाम") == ("warehouse",)
    assert hindi.keyword("कर्ज़") == hindi.keyword("कर्ज") == ("loan", "credit")
    assert hindi.keyword("xyzzy") == ()
    assert hindi.city("पुणे") == "pune"
    assert hindi.city("नई  दिल्ली") == "new delhi"
    assert hindi.city("गोदाम") is None


@pytest.mark.parametrize("word", ["बीमा", "सिंचाई", "बीज", "खाद", "महिला", "किसान", "प्रशिक्षण"])
def test_hindi_keyword_listed(word):
    assert load_hindi_words().keyword(word)


@pytest.mark.parametrize(
    ("written", "other"),
    [("भण्डारण", "भंडारण"), ("हिन्दी", "हिंदी"), ("सम्पर्क", "संपर्क"), ("प्याज़", "प्याज")],
)
def test_devanagari_key_folds_spelling_variants(written, other):
    from storage.normalize import devanagari_key

    assert devanagari_key(written) == devanagari_key(other)


def test_devanagari_key_keeps_other_scripts():
    from storage.normalize import devanagari_key

    assert devanagari_key("Hindi onion") == "Hindi onion"
