// The sign-in forms both consoles share: the password, then the second step (a code, a
// recovery code or a passkey), or a passkey alone. ``onSignedIn`` gets the API's answer.
"use strict";

import { $, announce, call, errorMessage } from "./api.js";
import { getCredential } from "./webauthn.js";

export function signInFlow({ onSignedIn }) {
  let mfaToken = null;
  let passkeyOptions = null;

  async function answer(response) {
    if (response.ok) return onSignedIn(await response.json());
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

  const post = (path, body) => call(path, { method: "POST", auth: false, body });

  $("password-step").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { email: $("email").value.trim(), password: $("password").value };
    $("password").value = "";
    await answer(await post("/auth/login", body));
  });

  $("code-step").addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = $("code").value.trim();
    $("code").value = "";
    const proof = /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
    await answer(await post("/auth/mfa/verify", { mfaToken, ...proof }));
  });

  $("passkey-second-step").addEventListener("click", async () => {
    if (!passkeyOptions) {
      const response = await post("/auth/mfa/passkey-options", { mfaToken });
      if (!response.ok) return announce(await errorMessage(response), { error: true });
      passkeyOptions = await response.json();
    }
    const credential = await getCredential(passkeyOptions);
    await answer(await post("/auth/mfa/verify", { mfaToken, credential }));
  });

  $("passkey-sign-in").addEventListener("click", async () => {
    const email = $("email").value.trim();
    const optionsResponse = await post("/auth/passkeys/login/options", email ? { email } : {});
    if (!optionsResponse.ok) return announce(await errorMessage(optionsResponse), { error: true });
    const options = await optionsResponse.json();
    const credential = await getCredential(options);
    await answer(await post("/auth/passkeys/login", {
      challengeId: options.challengeId, credential,
    }));
  });

  return { askSecondStep };
}
