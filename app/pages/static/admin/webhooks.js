// Webhook endpoints: add one (its secret shown once), enable or disable it, give it a new
// secret, delete it; read an endpoint's deliveries and send one again.
"use strict";

import {
  $, announce, authorized, confirmAction, element, errorMessage, ready, row, when,
} from "../api.js";
import { requireAdmin } from "./console.js";

async function send(path, options, done) {
  const response = await authorized(path, options);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return null;
  }
  announce(done);
  return response.json();
}

function showSecret(secret) {
  $("secret-value").textContent = secret;
  $("new-secret").hidden = false;
  $("new-secret-heading").focus();
}

function hideSecret() {
  $("secret-value").textContent = "";
  $("new-secret").hidden = true;
}

function button(text, handler, className = "secondary") {
  const made = element("button", text, { type: "button", class: className });
  made.addEventListener("click", handler);
  return made;
}

function actionsFor(hook) {
  const path = `/webhooks/${hook.id}`;
  const cell = element("div", null, { class: "actions wrap" });
  cell.append(
    button(`Deliveries of ${hook.url}`, () => loadDeliveries(hook)),
    button(hook.enabled ? `Disable ${hook.url}` : `Enable ${hook.url}`, async () => {
      if (await send(path, { method: "PATCH", body: { enabled: !hook.enabled } },
        hook.enabled ? "Endpoint disabled." : "Endpoint enabled.")) load();
    }),
    button(`New secret for ${hook.url}`, async () => {
      if (!(await confirmAction(`Give ${hook.url} a new secret? The old one signs on for a `
        + "grace period.", "New secret"))) return;
      const rotated = await send(`${path}/rotate-secret`, { method: "POST" }, "New secret made.");
      if (rotated) showSecret(rotated.secret);
    }),
    button(`Delete ${hook.url}`, async () => {
      if (!(await confirmAction(`Delete ${hook.url} and its deliveries?`, "Delete endpoint"))) {
        return;
      }
      if (await send(path, { method: "DELETE" }, "Endpoint deleted.")) load();
    }, "danger"),
  );
  return cell;
}

async function load() {
  const response = await authorized("/webhooks");
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  const rows = (await response.json()).webhooks.map((hook) => row([
    hook.url, hook.events.join(", "),
    hook.enabled ? "Enabled" : `Disabled${hook.disabledReason ? ` (${hook.disabledReason})` : ""}`,
    actionsFor(hook),
  ]));
  $("webhooks").tBodies[0].replaceChildren(...rows);
}

async function loadDeliveries(hook) {
  const response = await authorized(`/webhooks/${hook.id}/deliveries?limit=50`);
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  const rows = (await response.json()).deliveries.map((delivery) => row([
    delivery.eventType, delivery.status, String(delivery.attempts),
    delivery.lastResponseCode ?? delivery.lastError ?? "", when(delivery.createdAt),
    button(`Send ${delivery.eventType} again`, async () => {
      if (await send(`/webhooks/${hook.id}/deliveries/${delivery.id}/retry`, { method: "POST" },
        "Delivery queued again.")) loadDeliveries(hook);
    }),
  ]));
  $("deliveries-heading").textContent = `Deliveries to ${hook.url}`;
  $("deliveries").tBodies[0].replaceChildren(...rows);
  $("deliveries-section").hidden = false;
  $("deliveries-heading").focus();
}

$("new-webhook").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("new-webhook");
  const events = [...form.querySelectorAll("input[name=events]:checked")].map((box) => box.value);
  const description = $("webhook-description").value.trim();
  const created = await send("/webhooks", {
    method: "POST",
    body: { url: $("webhook-url").value.trim(), events, ...(description ? { description } : {}) },
  }, "Endpoint added.");
  if (!created) return;
  form.reset();
  showSecret(created.secret);
  load();
});
$("hide-secret").addEventListener("click", hideSecret);
window.addEventListener("pagehide", hideSecret);

if (await requireAdmin()) await load();
ready();
