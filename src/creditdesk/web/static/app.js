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
