// The token of a mailed link, read once and taken out of the address bar (and history), so
// it leaves no trace a later visitor of this browser could reuse.
"use strict";

export function takeToken() {
  const token = new URLSearchParams(window.location.search).get("token");
  if (token) window.history.replaceState(null, "", window.location.pathname);
  return token;
}
