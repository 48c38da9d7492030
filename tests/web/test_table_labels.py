"""Column labels put on table cells for the phone layout (web/table_labels.py)."""

from __future__ import annotations

from creditdesk.web.table_labels import label_tables

HEAD = ('<table id="t"><thead><tr><th scope="col">Invoice</th><th class="num">Total &amp; tax'
        '</th><th><span class="visually-hidden">Action</span></th></tr></thead>')


def test_each_body_cell_gets_its_column_name() -> None:
    page = HEAD + ('<tbody><tr><td><a href="/i/1">INV-1</a></td><td class="num">$1.00</td>'
                   '<td><button>Remove</button></td></tr></tbody></table>')
    out = label_tables(page)
    assert '<td data-label="Invoice"><a href="/i/1">' in out
    assert '<td data-label="Total &amp; tax" class="num">$1.00' in out
    assert '<td data-label=""><button>Remove' in out  # a header for screen readers only
    assert out.count("data-label") == 3  # the header cells are left as they are


def test_what_is_labelled_already_or_spans_columns_or_has_no_header() -> None:
    page = HEAD + ('<tbody><tr><td data-label="Own">a</td><td>b</td><td>c</td></tr>'
                   '<tr><td colspan="3">No runs yet.</td></tr>'
                   '<tr><th scope="row">Row head</th><td>b</td><td>c</td></tr></tbody></table>'
                   '<table><tbody><tr><td>headless</td></tr></tbody></table>')
    out = label_tables(page)
    assert '<td data-label="Own">a' in out and 'data-label="Own" data-label' not in out
    assert '<td data-label="" colspan="3">No runs yet.' in out
    assert '<th scope="row">Row head</th><td data-label="Total &amp; tax">b' in out
    assert "<td>headless</td>" in out
    assert label_tables("<p>no tables</p>") == "<p>no tables</p>"
