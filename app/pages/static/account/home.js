// The account itself: profile, address, password, two-step sign-in, sessions, linked
// sign-ins, the data and the deletion. Sensitive actions ask for the step-up in place.
"use strict";

import {
  $, announce, authorized, confirmAction, deviceLabel, element, errorMessage, ready, refresh,
  row, signOut, when,
} from "../api.js";
import { createCredential } from "../webauthn.js";

const LOGIN = "/account/login";

async function send(path, options, done) {
  const response = await authorized(path, options);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return null;
  }
  if (done) announce(done);
  return response.status === 204 ? {} : response.json();
}

async function loadProfile() {
  const response = await authorized("/users/current");
  if (!response.ok) return false;
  const user = await response.json();
  $("account-heading").textContent = `Your account: ${user.email || user.username}`;
  $("username").value = user.username;
  $("first-name").value = user.firstName || "";
  $("last-name").value = user.lastName || "";
  $("display-name").value = user.displayName || "";
  $("current-email").textContent = user.email || "none";
  $("email-verified").textContent = user.emailVerified ? "(verified)" : "(not verified yet)";
  for (const field of $("profile").elements) field.disabled = false;
  return true;
}

$("profile").addEventListener("submit", async (event) => {
  event.preventDefault();
  const optional = (id) => $(id).value.trim() || null;
  const body = {
    username: $("username").value.trim(), firstName: optional("first-name"),
    lastName: optional("last-name"), displayName: optional("display-name"),
  };
  if (await send("/users/current", { method: "PATCH", body }, "Profile saved.")) loadProfile();
});

$("email-change").addEventListener("submit", async (event) => {
  event.preventDefault();
  const sent = await send("/users/current/email", {
    method: "POST", body: { email: $("new-email").value.trim() },
  });
  if (sent) announce(sent.message);
});

$("password-change").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    currentPassword: $("current-password").value, newPassword: $("new-password").value,
  };
  $("current-password").value = "";
  $("new-password").value = "";
  if (await send("/auth/change-password", { method: "POST", body },
    "Password changed. Your other sessions have ended.")) loadSessions();
});

// Two-step sign-in.
function showRecoveryCodes(codes) {
  $("recovery-codes").replaceChildren(...codes.map((code) => element("li", code)));
  $("recovery").hidden = false;
  $("recovery-heading").focus();
}

function hideRecoveryCodes() {
  $("recovery-codes").replaceChildren();
  $("recovery").hidden = true;
}

async function loadFactors() {
  const response = await authorized("/auth/mfa");
  if (!response.ok) return;
  const factors = await response.json();
  $("totp-state").textContent = factors.totp
    ? `Authenticator app: on. Recovery codes left: ${factors.recoveryCodesLeft}.`
    : "Authenticator app: off.";
  $("totp-start").hidden = factors.totp;
  $("totp-off").hidden = !factors.totp;
  $("new-recovery-codes").hidden = !(factors.totp || factors.passkeys.length);
  $("passkeys").replaceChildren(...factors.passkeys.map((passkey) => {
    const item = element("li", `${passkey.name}, added ${when(passkey.createdAt)} `);
    const remove = element("button", `Remove ${passkey.name}`, { type: "button", class: "link" });
    remove.addEventListener("click", async () => {
      if (!(await confirmAction(`Remove the passkey ${passkey.name}?`, "Remove passkey"))) return;
      if (await send(`/auth/passkeys/${passkey.id}`, { method: "DELETE" }, "Passkey removed.")) {
        loadFactors();
      }
    });
    item.append(remove);
    return item;
  }));
}

$("totp-start").addEventListener("click", async () => {
  const enrolment = await send("/auth/mfa/totp", { method: "POST", body: {} });
  if (!enrolment) return;
  // An <img> shows the SVG without running anything inside it.
  $("totp-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`;
  $("totp-secret").textContent = enrolment.secret;
  $("totp-confirm").hidden = false;
  $("totp-code").focus();
});

$("totp-confirm").addEventListener("submit", async (event) => {
  event.preventDefault();
  const confirmed = await send("/auth/mfa/totp/confirm", {
    method: "POST", body: { code: $("totp-code").value.trim() },
  }, "The authenticator app is on.");
  $("totp-code").value = "";
  if (!confirmed) return;
  $("totp-confirm").hidden = true;
  $("totp-secret").textContent = "";
  $("totp-qr").removeAttribute("src");
  showRecoveryCodes(confirmed.recoveryCodes);
  loadFactors();
});

$("totp-off").addEventListener("click", async () => {
  const code = await askCode("Turn off the authenticator app", "Turn off");
  if (code && await send("/auth/mfa/totp", { method: "DELETE", body: { code } },
    "The authenticator app is off.")) loadFactors();
});

$("new-recovery-codes").addEventListener("click", async () => {
  const fresh = await send("/auth/mfa/recovery-codes", { method: "POST", body: {} },
    "New recovery codes; the old ones no longer work.");
  if (fresh) {
    showRecoveryCodes(fresh.recoveryCodes);
    loadFactors();
  }
});

$("recovery-done").addEventListener("click", hideRecoveryCodes);
// Recovery codes are shown once: they leave the page with the person.
window.addEventListener("pagehide", hideRecoveryCodes);

$("passkey-add").addEventListener("click", async () => {
  const options = await send("/auth/passkeys/register/options", { method: "POST" });
  if (!options) return;
  let credential;
  try {
    credential = await createCredential(options);
  } catch (error) {
    announce(`No passkey was made (${error.name}).`, { error: true });
    return;
  }
  const added = await send("/auth/passkeys/register", {
    method: "POST", body: { credential, name: "This browser" },
  }, "Passkey added.");
  if (!added) return;
  if (added.recoveryCodes) showRecoveryCodes(added.recoveryCodes);
  loadFactors();
});

// A code asked for in the step-up dialog, used here for what needs one in its body.
async function askCode(title, label) {
  $("step-up-title").textContent = title;
  $("step-up-text").textContent = "Enter a code from your authenticator app or a recovery code.";
  $("step-up-label").textContent = "Code";
  const input = $("step-up-secret");
  input.type = "text";
  input.value = "";
  const dialog = $("step-up-dialog");
  const choice = await new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
    dialog.showModal();
  });
  $("step-up-title").textContent = "Confirm it is you";
  const code = input.value.trim();
  input.value = "";
  return choice === "confirm" && code ? code : null;
}

// Sessions.
async function loadSessions() {
  const response = await authorized("/auth/sessions");
  if (!response.ok) return;
  const rows = (await response.json()).sessions.map((session) => {
    let action = element("span", "This device");
    if (!session.current) {
      action = element("button", "Sign out", { type: "button", class: "secondary" });
      action.setAttribute("aria-label", `Sign out ${deviceLabel(session)}`);
      action.addEventListener("click", async () => {
        if (await send(`/auth/sessions/${encodeURIComponent(session.id)}`,
          { method: "DELETE" }, "Signed out there.")) loadSessions();
      });
    }
    return row([deviceLabel(session), session.ip || "", when(session.lastUsedAt), action]);
  });
  $("sessions").tBodies[0].replaceChildren(...rows);
}

$("end-others").addEventListener("click", async () => {
  const response = await authorized("/auth/sessions");
  if (!response.ok) return;
  const others = (await response.json()).sessions.filter((session) => !session.current);
  if (!others.length) return announce("You are signed in nowhere else.");
  if (!(await confirmAction(`Sign out of ${others.length} other sessions?`, "Sign out others"))) {
    return;
  }
  for (const session of others) {
    await authorized(`/auth/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
  }
  announce("Signed out everywhere else.");
  loadSessions();
});

// Linked sign-ins.
async function loadIdentities() {
  const response = await authorized("/auth/identities");
  if (!response.ok) return;
  const identities = (await response.json()).identities;
  if (!identities.length) {
    $("identities").replaceChildren(element("li", "None"));
    return;
  }
  $("identities").replaceChildren(...identities.map((identity) => {
    const item = element("li", `${identity.provider} (${identity.email || "no email"}) `);
    const unlink = element("button", `Unlink ${identity.provider}`, {
      type: "button", class: "link",
    });
    unlink.addEventListener("click", async () => {
      if (await confirmAction(`Unlink ${identity.provider}?`, "Unlink") && await send(
        `/auth/identities/${identity.id}`, { method: "DELETE" }, "Unlinked.")) loadIdentities();
    });
    item.append(unlink);
    return item;
  }));
}

// Data and deletion.
$("export").addEventListener("click", async () => {
  const response = await authorized("/users/current/export");
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  const link = element("a", null, { download: "my-account.json" });
  link.href = URL.createObjectURL(await response.blob());
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
  announce("Your data is downloaded.");
});

$("delete-account").addEventListener("click", async () => {
  if (!(await confirmAction(
    "Delete your account and everything in it? This cannot be undone.", "Delete account",
  ))) return;
  if (await send("/users/current", { method: "DELETE", body: {} })) {
    window.location.assign(`${LOGIN}?deleted=1`);
  }
});

$("sign-out").addEventListener("click", () => signOut(LOGIN));

if (!(await refresh()) || !(await loadProfile())) {
  window.location.assign(LOGIN);
} else {
  $("sign-out").hidden = false;
  await Promise.all([loadFactors(), loadSessions(), loadIdentities()]);
  if (new URLSearchParams(window.location.search).has("welcome")) {
    announce("Welcome. We have mailed you a link to verify your address.");
    window.history.replaceState(null, "", window.location.pathname);
  }
  ready();
}
