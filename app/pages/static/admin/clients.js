// API clients: create one (its key shown once), rotate a key, revoke a client.
"use strict";

import {
  $, announce, authorized, confirmAction, element, errorMessage, ready, row, when,
} from "../api.js";
import { requireAdmin } from "./console.js";

function showKey(credentials) {
  $("new-client-id").textContent = credentials.clientId;
  $("new-client-key").textContent = credentials.clientKey;
  $("new-key").hidden = false;
  $("new-key-heading").focus();
}

function hideKey() {
  $("new-client-key").textContent = "";
  $("new-key").hidden = true;
}

async function act(question, label, path, options, done) {
  if (!(await confirmAction(question, label))) return;
  const response = await authorized(path, options);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  if (response.status !== 204) {
    const body = await response.json();
    if (body.clientKey) showKey(body);
  }
  announce(done);
  await load();
}

function actionsFor(client) {
  if (!client.isActive) return element("span", "Revoked");
  const cell = element("div", null, { class: "actions wrap" });
  const path = `/clients/${encodeURIComponent(client.clientId)}`;
  const rotate = element("button", `Rotate key of ${client.name}`, { type: "button" });
  rotate.addEventListener("click", () => act(
    `Give ${client.name} a new key? The old key and its tokens stop working at once.`,
    "Rotate key", `${path}/rotate`, { method: "POST" }, `New key for ${client.name}.`));
  const revoke = element("button", `Revoke ${client.name}`, { type: "button", class: "danger" });
  revoke.addEventListener("click", () => act(
    `Revoke ${client.name}? Its key and tokens stop working at once.`, "Revoke client", path,
    { method: "DELETE" }, `${client.name} revoked.`));
  cell.append(rotate, revoke);
  return cell;
}

async function load() {
  const response = await authorized("/clients");
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  const rows = (await response.json()).clients.map((client) => row([
    client.name, client.clientId, client.isActive ? "Active" : "Revoked",
    String(client.keyVersion), when(client.createdAt), actionsFor(client),
  ]));
  $("clients").tBodies[0].replaceChildren(...rows);
}

$("new-client").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await authorized("/clients", {
    method: "POST", body: { name: $("client-name").value.trim() },
  });
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  showKey(await response.json());
  $("new-client").reset();
  announce("Client created.");
  await load();
});
$("hide-key").addEventListener("click", hideKey);
// The key leaves the page with the person: it is never kept anywhere.
window.addEventListener("pagehide", hideKey);

if (await requireAdmin()) await load();
ready();
