// Roles: create one with its permissions, change a role's permissions, delete a role of
// your own (user and admin stay; admin holds every permission).
"use strict";

import {
  $, announce, authorized, confirmAction, element, errorMessage, ready, row,
} from "../api.js";
import { requireAdmin } from "./console.js";

const BUILT_IN = ["user", "admin"];

function permissionList(text) {
  return text.split(",").map((item) => item.trim()).filter(Boolean);
}

async function send(path, options, done) {
  const response = await authorized(path, options);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return false;
  }
  announce(done);
  await load();
  return true;
}

function actionsFor(role) {
  if (role.name === "admin") return element("span", "Holds every permission");
  const cell = element("div", null, { class: "actions wrap" });
  const input = element("input", null, {
    "aria-label": `Permissions of ${role.name}`, value: role.permissions.join(", "),
  });
  const save = element("button", "Save permissions", { type: "button" });
  save.addEventListener("click", () => send(`/roles/${encodeURIComponent(role.name)}`,
    { method: "PATCH", body: { permissions: permissionList(input.value) } },
    `Permissions of ${role.name} saved.`));
  cell.append(input, save);
  if (!BUILT_IN.includes(role.name)) {
    const remove = element("button", `Delete ${role.name}`, { type: "button", class: "danger" });
    remove.addEventListener("click", async () => {
      if (await confirmAction(`Delete the role ${role.name}? Its holders lose it at once.`,
        "Delete role")) {
        send(`/roles/${encodeURIComponent(role.name)}`, { method: "DELETE" },
          `Role ${role.name} deleted.`);
      }
    });
    cell.append(remove);
  }
  return cell;
}

async function load() {
  const response = await authorized("/roles");
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  const rows = (await response.json()).roles.map((role) => row([
    role.name, role.permissions.join(", ") || "None", actionsFor(role),
  ]));
  $("roles").tBodies[0].replaceChildren(...rows);
}

$("new-role").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("role-name").value.trim();
  const created = await send("/roles", {
    method: "POST", body: { name, permissions: permissionList($("role-permissions").value) },
  }, `Role ${name} created.`);
  if (created) $("new-role").reset();
});

if (await requireAdmin()) await load();
ready();
