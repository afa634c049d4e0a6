// The pages' client of the blog API. The access token lives in this module's memory only;
// the refresh token is the blog's HttpOnly cookie, which the browser sends to /api/v1/auth
// by itself. A 401 refreshes once; a sensitive action that asks for a recent proof of who
// you are asks for it in place (the step-up dialog) and is tried once more.
"use strict";

const API = "/api/v1";
let accessToken = null;

export const $ = (id) => document.getElementById(id);

export async function call(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && accessToken) headers.Authorization = `Bearer ${accessToken}`;
  return fetch(API + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function refresh() {
  const response = await call("/auth/refresh-token", { method: "POST", auth: false });
  accessToken = response.ok ? (await response.json()).accessToken : null;
  return accessToken !== null;
}

export function useToken(token) {
  accessToken = token;
}

export async function authorized(path, options = {}) {
  let response = await call(path, options);
  if (response.status !== 401) return response;
  const methods = await reauthenticationMethods(response);
  if (methods) return (await stepUp(methods)) ? call(path, options) : response;
  if (await refresh()) response = await call(path, options);
  return response;
}

async function reauthenticationMethods(response) {
  const data = await response.clone().json().catch(() => ({}));
  return data.error === "ReauthenticationRequiredError" ? data.details.methods : null;
}

// Ask for the password (or, where only a second factor will do, a code) and prove it.
async function stepUp(methods) {
  const byPassword = methods.includes("password");
  if (!byPassword && !methods.includes("totp")) {
    announce("Sign in again to confirm it is you.", { error: true });
    return false;
  }
  const dialog = $("step-up-dialog");
  const secret = $("step-up-secret");
  $("step-up-label").textContent = byPassword ? "Password" : "Code from your authenticator app";
  secret.type = byPassword ? "password" : "text";
  secret.autocomplete = byPassword ? "current-password" : "one-time-code";
  secret.value = "";
  if ((await openDialog(dialog)) !== "confirm" || !secret.value) return false;
  const body = byPassword ? { password: secret.value } : { code: secret.value };
  secret.value = "";
  const response = await call("/auth/reauthenticate", { method: "POST", body });
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return false;
  }
  accessToken = (await response.json()).accessToken;
  return true;
}

function openDialog(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// A confirmation in the page's own dialog: resolves true when the person confirms.
export async function confirmAction(text, confirmLabel) {
  $("confirm-text").textContent = text;
  $("confirm-button").textContent = confirmLabel;
  return (await openDialog($("confirm-dialog"))) === "confirm";
}

export function announce(text, { error = false } = {}) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", error);
}

export async function errorMessage(response) {
  const data = await response.json().catch(() => ({}));
  const details = data.details && typeof data.details === "object" ? data.details : {};
  const fields = Object.values(details).flat().filter((item) => typeof item === "string");
  return [data.message || `The request failed (${response.status}).`, ...fields].join(" ");
}

export async function signOut(home) {
  await call("/auth/logout", { method: "POST" }).catch(() => null);
  accessToken = null;
  window.location.assign(home);
}

// An element with its text (never HTML built from data).
export function element(tag, text, attributes = {}) {
  const made = document.createElement(tag);
  if (text !== undefined && text !== null) made.textContent = String(text);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  return made;
}

export function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell === null || cell === undefined ? "" : String(cell);
    tr.append(td);
  }
  return tr;
}

// A session's device as people name it: the app's device name, else the browser's user
// agent, with the platform read from it ("Ada's iPhone (iOS 17.4)").
export function deviceLabel(session) {
  const name = session.deviceName || session.userAgent || "Unknown device";
  return session.platform ? `${name} (${session.platform})` : name;
}

export function when(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "Never";
}

// The page's first load is done: assistive technology (and the tests) may read it now, and
// the forms' buttons, disabled until the script that sends them has run, may be used.
export function ready() {
  for (const button of document.querySelectorAll("[data-until-ready]")) {
    button.removeAttribute("data-until-ready");
    button.disabled = false;
  }
  $("main").setAttribute("aria-busy", "false");
}
