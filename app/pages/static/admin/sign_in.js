// The console's sign-in: the password, then the second step when the account has one.
"use strict";

import { $, announce, call, errorMessage, ready, signOut, useToken } from "../api.js";

let mfaToken = null;

function destination() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  // Only a path of this console: never another site.
  return next.startsWith("/admin/") && !next.startsWith("//") ? next : "/admin/users";
}

async function signedIn(response) {
  const body = await response.json();
  useToken(body.accessToken);
  if (body.user.role !== "admin") {
    announce("Only admins can sign in to this console.", { error: true });
    await signOut(`${window.location.pathname}`);
    return;
  }
  window.location.assign(destination());
}

$("password-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  announce("Signing in…");
  const response = await call("/auth/login", {
    method: "POST",
    auth: false,
    body: { email: $("email").value.trim(), password: $("password").value },
  });
  $("password").value = "";
  if (response.ok) return signedIn(response);
  const data = await response.clone().json().catch(() => ({}));
  if (data.error === "MfaRequiredError") {
    mfaToken = data.details.mfaToken;
    $("password-step").hidden = true;
    $("code-step").hidden = false;
    announce("Enter the code from your authenticator app.");
    $("code").focus();
    return;
  }
  announce(await errorMessage(response), { error: true });
});

$("code-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await call("/auth/mfa/verify", {
    method: "POST",
    auth: false,
    body: { mfaToken, code: $("code").value.trim() },
  });
  $("code").value = "";
  if (response.ok) return signedIn(response);
  announce(await errorMessage(response), { error: true });
});

ready();
