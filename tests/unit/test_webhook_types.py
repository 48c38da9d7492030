"""D4: the event types an endpoint may ask for (domain.webhooks.check_types)."""

from __future__ import annotations

import pytest

from creditdesk.domain import errors
from creditdesk.domain import webhooks as rules


def test_d4_known_types_are_kept_once_in_catalogue_order() -> None:
    assert rules.check_types(["sync_run.finished", "credit_memo.created",
                              "credit_memo.created"]) == ["credit_memo.created",
                                                          "sync_run.finished"]


def test_d4_a_star_means_every_type_even_among_others() -> None:
    assert rules.check_types(["*"]) == ["*"]
    assert rules.check_types(["credit_memo.issued", "*"]) == ["*"]


@pytest.mark.parametrize("events", [[], [""], ["credit_memo.sent"], "*", [1]])
def test_d4_anything_else_is_refused_naming_events(events: object) -> None:
    with pytest.raises(errors.ValidationError) as exc:
        rules.check_types(events)
    assert exc.value.errors[0].field == "events"
