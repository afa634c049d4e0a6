// Sign in: the password, then the second step (a code, a recovery code or a passkey); or a
// passkey alone; or an OpenID provider. Back from a provider, ?error= or #mfaToken= is read.
"use strict";

import { $, announce, call, element, errorMessage, ready, useToken } from "../api.js";
import { getCredential } from "../webauthn.js";

const HOME = "/account/";
let mfaToken = null;
let passkeyOptions = null;

function signedIn(body) {
  useToken(body.accessToken);
  window.location.assign(HOME);
}

async function answer(response) {
  if (response.ok) return signedIn(await response.json());
  const data = await response.clone().json().catch(() => ({}));
  if (data.error === "MfaRequiredError") return askSecondStep(data.details);
  announce(await errorMessage(response), { error: true });
}

function askSecondStep(details) {
  mfaToken = details.mfaToken;
  passkeyOptions = details.passkeyOptions || null;
  $("password-step").hidden = true;
  $("code-step").hidden = false;
  $("passkey-second-step").hidden = !(details.methods || []).includes("passkey");
  announce("Enter the code from your authenticator app.");
  $("code").focus();
}

$("password-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { email: $("email").value.trim(), password: $("password").value };
  $("password").value = "";
  await answer(await call("/auth/login", { method: "POST", auth: false, body }));
});

$("code-step").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("code").value.trim();
  $("code").value = "";
  const proof = /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
  await answer(await call("/auth/mfa/verify", {
    method: "POST", auth: false, body: { mfaToken, ...proof },
  }));
});

$("passkey-second-step").addEventListener("click", async () => {
  if (!passkeyOptions) {
    const response = await call("/auth/mfa/passkey-options", {
      method: "POST", auth: false, body: { mfaToken },
    });
    if (!response.ok) return announce(await errorMessage(response), { error: true });
    passkeyOptions = await response.json();
  }
  const credential = await getCredential(passkeyOptions);
  await answer(await call("/auth/mfa/verify", {
    method: "POST", auth: false, body: { mfaToken, credential },
  }));
});

$("passkey-sign-in").addEventListener("click", async () => {
  const email = $("email").value.trim();
  const optionsResponse = await call("/auth/passkeys/login/options", {
    method: "POST", auth: false, body: email ? { email } : {},
  });
  if (!optionsResponse.ok) return announce(await errorMessage(optionsResponse), { error: true });
  const options = await optionsResponse.json();
  const credential = await getCredential(options);
  await answer(await call("/auth/passkeys/login", {
    method: "POST", auth: false, body: { challengeId: options.challengeId, credential },
  }));
});

async function showProviders() {
  const response = await call("/auth/oidc", { auth: false });
  if (!response.ok) return;
  for (const { name } of (await response.json()).providers) {
    const link = element("a", `Sign in with ${name}`, {
      href: `/api/v1/auth/oidc/${encodeURIComponent(name)}/login?next=/`, class: "button",
    });
    $("other-sign-ins").append(link);
  }
}

async function readProviderReturn() {
  const error = new URLSearchParams(window.location.search).get("error");
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (error || fragment.has("mfaToken")) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  if (error) announce(`Signing in with the provider failed (${error}).`, { error: true });
  if (fragment.has("mfaToken")) {
    askSecondStep({
      mfaToken: fragment.get("mfaToken"), methods: (fragment.get("methods") || "").split(","),
    });
  }
}

await showProviders();
await readProviderReturn();
if (new URLSearchParams(window.location.search).has("deleted")) {
  announce("Your account is deleted.");
  window.history.replaceState(null, "", window.location.pathname);
}
ready();
