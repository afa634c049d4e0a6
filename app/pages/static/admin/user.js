// A user's page: profile, roles, sessions, factors, audit trail, and the admin's actions,
// each confirmed first (the API asks for the step-up where it needs one).
"use strict";

import {
  $, announce, authorized, confirmAction, deviceLabel, element, errorMessage, ready, row, when,
} from "../api.js";
import { requireAdmin } from "./console.js";

const userId = $("user-page").dataset.userId;
const USER = `/users/${userId}`;
let current = null;

function describe(list, pairs) {
  list.replaceChildren();
  for (const [term, value] of pairs) {
    list.append(element("dt", term), element("dd", value));
  }
}

function showUser(detail) {
  const user = detail.user;
  current = user;
  $("user-heading").textContent = user.email || user.username;
  describe($("profile"), [
    ["Email", user.email || "None"],
    ["Username", user.username],
    ["Display name", user.displayName || "None"],
    ["Status", user.isActive ? "Active" : "Deactivated"],
    ["Email verified", user.emailVerified ? "Yes" : "No"],
    ["Second step locked", user.mfaLocked ? "Yes" : "No"],
    ["Last sign-in", when(user.lastSignInAt)],
    ["Created", when(user.createdAt)],
  ]);
  const factors = detail.secondFactors;
  describe($("factors"), [
    ["Authenticator app", factors.totp ? "On" : "Off"],
    ["Recovery codes left", String(factors.recoveryCodesLeft)],
    ["Passkeys", factors.passkeys.map((key) => key.name).join(", ") || "None"],
    ["Linked identities",
      detail.identities.map((id) => `${id.provider} (${id.email || "no email"})`).join(", ")
        || "None"],
  ]);
  $("deactivate").hidden = !user.isActive;
  $("reactivate").hidden = user.isActive;
  $("reset-factors").disabled = !user.mfaEnabled;
  $("resend-verification").hidden = user.emailVerified || !user.email;
  $("send-reset").hidden = !user.email;
  if ($("role-fieldset").disabled) showRoles(user.roles);
}

// Once, when the user first arrives: the page's other actions reload the user, and must
// not undo choices the admin has not saved yet.
function showRoles(roles) {
  for (const box of $("role-choices").querySelectorAll("input")) {
    box.checked = roles.includes(box.value);
  }
  $("role-fieldset").disabled = false;
  $("save-roles").disabled = false;
}

async function loadRoles() {
  const response = await authorized("/roles");
  if (!response.ok) return;
  const choices = (await response.json()).roles.map((role) => {
    const label = element("label");
    const box = element("input", null, { type: "checkbox", name: "roles", value: role.name });
    label.append(box, document.createTextNode(role.name));
    return label;
  });
  $("role-choices").replaceChildren(...choices);
}

async function loadUser() {
  const response = await authorized(USER);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return false;
  }
  showUser(await response.json());
  return true;
}

async function loadSessions() {
  const response = await authorized(`${USER}/sessions`);
  if (!response.ok) return;
  const rows = (await response.json()).sessions.map((session) => {
    const end = element("button", "End session", { type: "button", class: "secondary" });
    end.addEventListener("click", () => act(
      `End the session on ${deviceLabel(session)}?`, "End session",
      `${USER}/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" },
      "Session ended."));
    return row([deviceLabel(session), session.ip || "", when(session.lastUsedAt),
      session.methods.join(" "), end]);
  });
  $("sessions").tBodies[0].replaceChildren(...rows);
}

async function loadAudit() {
  const response = await authorized(`/audit-events?user=${userId}&limit=50`);
  if (!response.ok) return;
  const rows = (await response.json()).events.map((event) => row([
    when(event.time), event.event, event.outcome, event.ip || "",
  ]));
  $("audit").tBodies[0].replaceChildren(...rows);
}

async function refreshAll() {
  if (await loadUser()) await Promise.all([loadSessions(), loadAudit()]);
}

async function act(question, confirmLabel, path, options, done) {
  if (!(await confirmAction(question, confirmLabel))) return false;
  const response = await authorized(path, options);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return false;
  }
  announce(done);
  await refreshAll();
  return true;
}

function name() {
  return current ? current.email || current.username : "this user";
}

$("deactivate").addEventListener("click", () => act(
  `Deactivate ${name()}? They cannot sign in and every session of theirs ends.`, "Deactivate",
  USER, { method: "PATCH", body: { isActive: false } }, "User deactivated."));
$("reactivate").addEventListener("click", () => act(
  `Reactivate ${name()}?`, "Reactivate", USER, { method: "PATCH", body: { isActive: true } },
  "User reactivated."));
$("unlock").addEventListener("click", () => act(
  `Unlock ${name()}? Their failed attempts are forgotten.`, "Unlock", `${USER}/unlock`,
  { method: "POST" }, "User unlocked."));
$("end-sessions").addEventListener("click", () => act(
  `End every session of ${name()}?`, "End all sessions", `${USER}/sessions`,
  { method: "DELETE" }, "Every session ended."));
$("reset-factors").addEventListener("click", () => act(
  `Remove every second factor of ${name()}? They sign in with the password alone until they
  add one again.`, "Reset second factor", USER, { method: "PATCH", body: { mfa: false } },
  "Second factor reset."));
$("resend-verification").addEventListener("click", () => act(
  `Mail ${name()} a new link to verify the address?`, "Resend verification", `${USER}/mail`,
  { method: "POST", body: { kind: "verification" } }, "Verification mail queued."));
$("send-reset").addEventListener("click", () => act(
  `Mail ${name()} a link to set a new password?`, "Send password reset", `${USER}/mail`,
  { method: "POST", body: { kind: "password_reset" } }, "Password reset mail queued."));
$("delete").addEventListener("click", async () => {
  const deleted = await act(`Delete ${name()} for good?`, "Delete user", USER,
    { method: "DELETE" }, "User deleted.");
  if (deleted) window.location.assign("/admin/users");
});
$("roles-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const chosen = [...$("role-choices").querySelectorAll("input:checked")].map((box) => box.value);
  act(`Give ${name()} the roles ${chosen.join(", ") || "(none)"}?`, "Save roles", USER,
    { method: "PATCH", body: { roles: chosen } }, "Roles saved.");
});

if (await requireAdmin()) {
  await loadRoles();
  await refreshAll();
}
ready();
