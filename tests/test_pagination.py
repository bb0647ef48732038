"""Pages and cursors (tools/pagination.py): what every listing's limit, cursor and next_cursor mean."""

from __future__ import annotations

import pytest

from tools.errors import InvalidInputError
from tools.pagination import DEFAULT_PAGE, MAX_PAGE, Page, PageRequest, decode_cursor, encode_cursor
from tools.ticket_models import TicketPage


def test_walking_pages_visits_every_row_once_and_ends_with_no_cursor() -> None:
    rows = list(range(45))
    seen: list[int] = []
    cursor: str | None = None
    while True:
        window = PageRequest.of(20, cursor)
        page = window.page(Page[int], rows[window.offset : window.offset + window.size], len(rows))
        seen.extend(page.items)
        assert page.total == 45
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == rows


def test_a_full_last_page_has_no_next_cursor() -> None:
    window = PageRequest.of(10, encode_cursor(30))
    assert window.next_cursor(40) is None
    assert window.next_cursor(41) is not None


def test_defaults_and_bounds_of_limit() -> None:
    assert PageRequest.of(None, None) == PageRequest(size=DEFAULT_PAGE, offset=0)
    with pytest.raises(InvalidInputError, match=f"between 1 and {MAX_PAGE}"):
        PageRequest.of(MAX_PAGE + 1, None)
    with pytest.raises(InvalidInputError, match="between 1"):
        PageRequest.of(0, None)


@pytest.mark.parametrize("cursor", ["nonsense", encode_cursor(-1), "eyJ4IjogMX0", encode_cursor(2**63)])
def test_a_cursor_not_made_here_is_refused_with_what_to_pass(cursor: str) -> None:
    with pytest.raises(InvalidInputError, match="next_cursor of a previous page"):
        decode_cursor(cursor)


def test_a_page_subclass_keeps_its_type() -> None:
    page = PageRequest.of(5, None).page(TicketPage, [], 0)
    assert type(page) is TicketPage and page.next_cursor is None
