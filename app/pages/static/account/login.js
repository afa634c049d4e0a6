// Sign in: the password, then the second step; or a passkey alone; or an OpenID provider.
// Back from a provider, ?error= or #mfaToken= is read once and taken out of the address.
"use strict";

import { $, announce, call, element, ready, useToken } from "../api.js";
import { signInFlow } from "../sign_in_flow.js";

const flow = signInFlow({
  onSignedIn(body) {
    useToken(body.accessToken);
    window.location.assign("/account/");
  },
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

function readProviderReturn() {
  const error = new URLSearchParams(window.location.search).get("error");
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (error || fragment.has("mfaToken")) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  if (error) announce(`Signing in with the provider failed (${error}).`, { error: true });
  if (fragment.has("mfaToken")) {
    flow.askSecondStep({
      mfaToken: fragment.get("mfaToken"), methods: (fragment.get("methods") || "").split(","),
    });
  }
}

await showProviders();
readProviderReturn();
if (new URLSearchParams(window.location.search).has("deleted")) {
  announce("Your account is deleted.");
  window.history.replaceState(null, "", window.location.pathname);
}
ready();
