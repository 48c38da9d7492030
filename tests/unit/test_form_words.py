"""Form refusals in words (issue 11, item 8): never a field path such as lines[0].x."""

from __future__ import annotations

from creditdesk.domain import errors
from creditdesk.web import forms


def test_field_problems_read_as_sentences() -> None:
    assert forms.in_words("description", "is required", 1) == "Line 1: enter a description"
    assert forms.in_words("unit_price", "is required", 2) == "Line 2: enter a unit price"
    assert forms.in_words("amount", "is required when there are no lines") == (
        "Enter an amount when there are no lines")
    assert forms.in_words("customer", "choose a customer") == "Choose a customer"
    assert forms.in_words("quantity", "must be a whole number from 1 to 9", 3) == (
        "Line 3: the quantity must be a whole number from 1 to 9")
    assert forms.in_words("quantity", "Line 2: only 1 can still be credited", 2) == (
        "Line 2: only 1 can still be credited")


def test_refusal_names_lines_as_the_form_numbers_its_rows() -> None:
    exc = errors.ValidationError(
        "lines[0].description is required; lines[1].quantity must be a whole number",
        errors=[errors.FieldError("lines[0].description", "is required"),
                errors.FieldError("lines[1].quantity", "must be a whole number")])
    r = forms.refusal("memo", exc, rows={0: 2, 1: 4})
    assert r.message == "Line 3: enter a description. Line 5: the quantity must be a whole number."
    assert r.fields == {"line-2-description": "Line 3: enter a description",
                        "line-4-quantity": "Line 5: the quantity must be a whole number"}
    # a detail that is already a sentence (no field path in it) is kept
    kept = errors.ValidationError("Your current password is not right; nothing was changed.",
                                  errors=[errors.FieldError("current_password", "is wrong")])
    assert forms.refusal("password", kept).message == kept.detail
