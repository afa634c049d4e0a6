// A dependency-free client of the blog API: the access token stays in memory only, the
// refresh token is the HttpOnly cookie the browser sends to /api/v1/auth by itself.
"use strict";

const API = "/api/v1";
let accessToken = null;

const $ = (id) => document.getElementById(id);

async function call(path, { method = "GET", body, auth = false } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  return fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function refresh() {
  const response = await call("/auth/refresh-token", { method: "POST" });
  if (!response.ok) {
    accessToken = null;
    return false;
  }
  accessToken = (await response.json()).accessToken;
  return true;
}

// A protected call: on a 401 (expired access token), refresh once and retry; when a
// sensitive action asks for a recent proof of who you are, ask for it and retry once.
async function authorized(path, options = {}) {
  let response = await call(path, { ...options, auth: true });
  const methods = response.status === 401 ? await reauthenticationMethods(response) : null;
  if (methods) {
    return (await reauthenticate(methods)) ? call(path, { ...options, auth: true }) : response;
  }
  if (response.status === 401 && (await refresh())) {
    response = await call(path, { ...options, auth: true });
  }
  return response;
}

// What a ReauthenticationRequiredError says the account can prove itself with, else null.
async function reauthenticationMethods(response) {
  const data = await response.clone().json().catch(() => ({}));
  return data.error === "ReauthenticationRequiredError" ? data.details.methods : null;
}

// POST /auth/reauthenticate with the password or, when a second factor is needed, a code.
async function reauthenticate(methods) {
  const byPassword = methods.includes("password");
  if (!byPassword && !methods.includes("totp")) return false;
  const secret = window.prompt(byPassword ? "Your password, once more" : "Your authenticator code");
  if (!secret) return false;
  const body = byPassword ? { password: secret } : { code: secret };
  const response = await call("/auth/reauthenticate", { method: "POST", body, auth: true });
  if (!response.ok) return false;
  accessToken = (await response.json()).accessToken;
  return true;
}

async function showCurrentUser() {
  const response = await authorized("/users/current");
  if (!response.ok) return showSignedOut();
  const user = await response.json();
  const profile = $("profile");
  profile.replaceChildren();
  for (const [label, value] of [["Email", user.email], ["Username", user.username],
                                ["Role", user.role], ["Since", user.createdAt]]) {
    const term = document.createElement("dt");
    term.textContent = label;
    const detail = document.createElement("dd");
    detail.textContent = value;
    profile.append(term, detail);
  }
  $("status").textContent = `Logged in as ${user.email}`;
  $("signed-in").hidden = false;
  $("signed-out").hidden = true;
}

function showSignedOut() {
  accessToken = null;
  $("status").textContent = "Logged out";
  $("signed-in").hidden = true;
  $("signed-out").hidden = false;
}

let mfaToken = null;
let passkeyOptions = null;

async function signIn(path) {
  $("error").textContent = "";
  const body = { email: $("email").value, password: $("password").value };
  const response = await call(path, { method: "POST", body });
  const data = await response.json();
  if (response.status === 403 && data.error === "MfaRequiredError") {
    // The password was right; the login waits for the second factor.
    mfaToken = data.details.mfaToken;
    passkeyOptions = data.details.passkeyOptions || null;
    showSecondStep(true);
    return;
  }
  if (!response.ok) {
    $("error").textContent = data.message || "Something went wrong";
    return;
  }
  await signedIn(data);
}

async function signedIn(data) {
  accessToken = data.accessToken;
  $("password").value = "";
  showSecondStep(false);
  await showCurrentUser();
}

function showSecondStep(shown) {
  $("auth-form").hidden = shown;
  $("second-step").hidden = !shown;
  $("second-step-code").value = "";
  $("second-step-passkey").hidden = !(shown && passkeyOptions);
  if (shown) $("second-step-code").focus();
  else mfaToken = passkeyOptions = null;
}

async function finishSecondStep() {
  $("error").textContent = "";
  const code = $("second-step-code").value.trim();
  // Six digits are an authenticator's code; anything else is tried as a recovery code.
  const proof = /^\d{6}$/.test(code) ? { code } : { recoveryCode: code };
  const response = await call("/auth/mfa/verify", { method: "POST", body: { mfaToken, ...proof } });
  const data = await response.json();
  if (response.status === 401) {
    showSecondStep(false);
    $("error").textContent = data.message;
    return;
  }
  if (!response.ok) {
    $("error").textContent = data.message || "Something went wrong";
    return;
  }
  await signedIn(data);
}

async function beginTotp() {
  $("error").textContent = "";
  const response = await authorized("/auth/mfa/totp", {
    method: "POST", body: { password: $("totp-password").value },
  });
  const data = await response.json();
  $("totp-password").value = "";
  if (!response.ok) {
    $("error").textContent = data.message || "Something went wrong";
    return;
  }
  // An <img> shows the SVG without running anything inside it.
  $("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(data.qrSvg)}`;
  $("totp-secret").textContent = data.secret;
  $("totp-start").hidden = true;
  $("totp-confirm").hidden = false;
}

async function confirmTotp() {
  $("error").textContent = "";
  const response = await authorized("/auth/mfa/totp/confirm", {
    method: "POST", body: { code: $("totp-code").value.trim() },
  });
  const data = await response.json();
  if (!response.ok) {
    $("error").textContent = data.message || "Something went wrong";
    return;
  }
  $("totp-confirm").hidden = true;
  showRecoveryCodes(data.recoveryCodes);
}

function showRecoveryCodes(codes) {
  $("recovery-codes").replaceChildren(...codes.map((code) => {
    const item = document.createElement("li");
    item.textContent = code;
    return item;
  }));
  $("recovery").hidden = false;
}

async function logOut() {
  await authorized("/auth/logout", { method: "POST" });
  showSignedOut();
}

// WebAuthn JSON <-> the ArrayBuffers navigator.credentials takes and gives.
const fromBase64url = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function creationOptions(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
}

function requestOptions(json) {
  const { challengeId, ...options } = json;
  return {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
}

function credentialJSON(credential) {
  const response = {};
  for (const name of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (credential.response[name]) response[name] = toBase64url(credential.response[name]);
  }
  if (credential.response.getTransports) response.transports = credential.response.getTransports();
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment,
  };
}

async function addPasskey() {
  $("error").textContent = "";
  const optionsResponse = await authorized("/auth/passkeys/register/options", { method: "POST" });
  if (!optionsResponse.ok) return showError(await optionsResponse.json());
  const credential = await navigator.credentials.create({
    publicKey: creationOptions(await optionsResponse.json()),
  });
  const response = await authorized("/auth/passkeys/register", {
    method: "POST", body: { credential: credentialJSON(credential), name: "This browser" },
  });
  const data = await response.json();
  if (!response.ok) return showError(data);
  if (data.recoveryCodes) showRecoveryCodes(data.recoveryCodes);
  $("passkey-status").textContent = `Passkey added: ${data.name}`;
}

async function signInWithPasskey() {
  $("error").textContent = "";
  const email = $("email").value.trim();
  const optionsResponse = await call("/auth/passkeys/login/options", {
    method: "POST", body: email ? { email } : {},
  });
  const options = await optionsResponse.json();
  if (!optionsResponse.ok) return showError(options);
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
  const response = await call("/auth/passkeys/login", {
    method: "POST", body: { challengeId: options.challengeId, credential: credentialJSON(credential) },
  });
  const data = await response.json();
  if (!response.ok) return showError(data);
  await signedIn(data);
}

async function passkeySecondStep() {
  $("error").textContent = "";
  const credential = await navigator.credentials.get({ publicKey: requestOptions(passkeyOptions) });
  const response = await call("/auth/mfa/verify", {
    method: "POST", body: { mfaToken, credential: credentialJSON(credential) },
  });
  const data = await response.json();
  if (!response.ok) return showError(data);
  await signedIn(data);
}

function showError(data) {
  $("error").textContent = data.message || "Something went wrong";
}

$("auth-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn("/auth/login");
});
$("register").addEventListener("click", () => signIn("/auth/register"));
$("second-step").addEventListener("submit", (event) => {
  event.preventDefault();
  finishSecondStep();
});
$("second-step-cancel").addEventListener("click", () => showSecondStep(false));
$("second-step-passkey").addEventListener("click", passkeySecondStep);
$("passkey-login").addEventListener("click", signInWithPasskey);
$("passkey-add").addEventListener("click", addPasskey);
$("totp-start").addEventListener("submit", (event) => {
  event.preventDefault();
  beginTotp();
});
$("totp-confirm").addEventListener("submit", (event) => {
  event.preventDefault();
  confirmTotp();
});
$("logout").addEventListener("click", logOut);
$("reload-profile").addEventListener("click", showCurrentUser);

// "Sign in with <provider>": a plain link; the service sends the browser to the provider and
// back to this page's root, with the refresh cookie set.
async function showProviders() {
  const response = await call("/auth/oidc");
  if (!response.ok) return;
  const { providers } = await response.json();
  $("providers").replaceChildren(...providers.map(({ name }) => {
    const link = document.createElement("a");
    link.id = `oidc-${name}`;
    link.className = "button";
    link.href = `${API}/auth/oidc/${encodeURIComponent(name)}/login?next=/`;
    link.textContent = `Sign in with ${name}`;
    return link;
  }));
}

// Back from a provider: ?error=<reason> when it failed, #mfaToken=... when the account's
// second step is due. Both are read once and taken out of the address bar.
function readProviderReturn() {
  const error = new URLSearchParams(location.search).get("error");
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (error || fragment.has("mfaToken")) history.replaceState(null, "", location.pathname);
  if (error) $("error").textContent = `Signing in with the provider failed (${error}).`;
  if (fragment.has("mfaToken")) {
    mfaToken = fragment.get("mfaToken");
    return fragment.get("methods") || "";
  }
  return null;
}

// The redirect carries no passkey options (too big for a URL): ask for them.
async function fetchPasskeyOptions() {
  const response = await call("/auth/mfa/passkey-options", { method: "POST", body: { mfaToken } });
  if (response.ok) passkeyOptions = await response.json();
}

// A reload forgets the access token; the refresh cookie brings the session back.
(async () => {
  showProviders();
  const methods = readProviderReturn();
  if (methods !== null) {
    showSignedOut();
    if (methods.split(",").includes("passkey")) await fetchPasskeyOptions();
    showSecondStep(true);
    return;
  }
  return (await refresh()) ? showCurrentUser() : showSignedOut();
})();
