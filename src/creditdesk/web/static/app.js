// The pages' few behaviours, here rather than inline: the Content-Security-Policy runs no
// inline script or handler (web/headers.py). Delegated from the document, so they also
// hold for content htmx swaps in. Every page works without them.
"use strict";
document.addEventListener("focusin", (event) => {
  // Read-only values to copy (a portal link, the Web Connector's password): focus selects.
  if (event.target instanceof HTMLInputElement && event.target.matches("[data-select-on-focus]")) {
    event.target.select();
  }
});
document.addEventListener("click", (event) => {
  // "Go back" on an error page: the previous page when there is one, else the link's page.
  const link = event.target instanceof Element ? event.target.closest("a[data-back]") : null;
  if (link && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
document.addEventListener("click", (event) => {
  // Cancel on a confirmation (P6) that htmx put into the page: close it where it is. (On a
  // confirmation page of its own, without JavaScript, it is a link back to the page.)
  const cancel = event.target instanceof Element
    ? event.target.closest("#confirmation [data-cancel-confirmation]") : null;
  if (cancel) {
    event.preventDefault();
    document.getElementById("confirmation").replaceChildren();
  }
});

// ---- Memo form: picking a catalogue variant fills the line (issue 11, item 8) ----
// The option carries the variant's name and price (data-description, data-price). Only a
// field the user has not typed in is filled: empty, or still what the last pick put there.
// Without JavaScript the server fills a line's empty description and unit price instead.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.matches("select[data-variant-picker]")) {
    return;
  }
  const option = select.selectedOptions[0];
  const row = select.closest("[data-line-row]");
  if (!option || !row) {
    return;
  }
  const values = { description: option.dataset.description, unit_price: option.dataset.price };
  for (const [field, value] of Object.entries(values)) {
    const input = row.querySelector(`[data-line-field="${field}"]`);
    if (!(input instanceof HTMLInputElement) || value === undefined) {
      continue;
    }
    if (input.value === "" || input.value === input.dataset.filled) {
      input.value = value;
      input.dataset.filled = value;
    }
  }
});
// ---- end: memo form variant picker ----
