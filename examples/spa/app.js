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

// A protected call: on a 401 (expired access token), refresh once and retry.
async function authorized(path, options = {}) {
  let response = await call(path, { ...options, auth: true });
  if (response.status === 401 && (await refresh())) {
    response = await call(path, { ...options, auth: true });
  }
  return response;
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

async function signIn(path) {
  $("error").textContent = "";
  const body = { email: $("email").value, password: $("password").value };
  const response = await call(path, { method: "POST", body });
  const data = await response.json();
  if (response.status === 403 && data.error === "MfaRequiredError") {
    // The password was right; the login waits for the second factor.
    mfaToken = data.details.mfaToken;
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
  if (shown) $("second-step-code").focus();
  else mfaToken = null;
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
  const list = $("recovery-codes");
  list.replaceChildren(...data.recoveryCodes.map((code) => {
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

// A reload forgets the access token; the refresh cookie brings the session back.
(async () => ((await refresh()) ? showCurrentUser() : showSignedOut()))();
