"""Reading spoken numbers: ticket numbers and digit strings the way recognisers write them."""

from __future__ import annotations

import pytest

from tools.spoken import rewrite_ticket_numbers, spoken_digits, ticket_number, word_errors, words_for_scoring


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("T C K zero zero zero zero four two", "TCK-000042"),
        ("ticket forty-two", "TCK-000042"),
        ("Ticket number forty two.", "TCK-000042"),
        ("My ticket number is TCK-0000-42.", "TCK-000042"),
        ("T.C.K. 000042", "TCK-000042"),
        ("TCK 0 0 0 0 4 2", "TCK-000042"),
        ("ticket one hundred and five", "TCK-000105"),
        ("four oh seven", "TCK-000407"),
        ("double four seven", "TCK-000447"),
        ("ticket for 2", "TCK-000002"),
        ("twelve thousand three hundred", "TCK-012300"),
    ],
)
def test_ticket_numbers_as_spoken(heard: str, expected: str) -> None:
    assert ticket_number(heard) == expected


@pytest.mark.parametrize("heard", ["I don't know", "ticket", "zero", ""])
def test_no_ticket_number_is_none(heard: str) -> None:
    assert ticket_number(heard) is None


def test_digits_keep_leading_zeros() -> None:
    assert spoken_digits("zero zero seven") == "007"
    assert spoken_digits("1 2 3, four five six") == "123456"
    assert spoken_digits("nothing here") is None


def test_ticket_references_rewritten_inside_a_sentence() -> None:
    assert rewrite_ticket_numbers("What is the status of ticket number forty two, please?") == (
        "What is the status of TCK-000042, please?"
    )
    # Everyday uses of "to" and "for" are left alone.
    assert rewrite_ticket_numbers("I need to go to the office for two hours") == (
        "I need to go to the office for two hours"
    )


def test_word_error_rate_normalises_both_sides_alike() -> None:
    assert words_for_scoring('or "forty-two line Bible" of about fourteen fifty-five,') == [
        "or", "42", "line", "bible", "of", "about", "1455",
    ]  # fmt: skip
    assert word_errors("he was not an ill disposed young man", "He was not an ill-disposed young man.") == (0, 8)
    assert word_errors("a b c", "a x c d") == (2, 3)
