// The admin whitelist: add an address, remove one of the table's (the configuration's are
// changed where they are configured).
"use strict";

import {
  $, announce, authorized, confirmAction, element, errorMessage, ready, row,
} from "../api.js";
import { requireAdmin } from "./console.js";

async function load() {
  const response = await authorized("/admin-whitelist");
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  const rows = (await response.json()).entries.map((entry) => {
    let action = element("span", "Set in ADMIN_EMAIL_WHITELIST");
    if (entry.source === "table") {
      action = element("button", `Remove ${entry.email}`, { type: "button", class: "secondary" });
      action.addEventListener("click", () => remove(entry.email));
    }
    return row([entry.email, entry.source === "table" ? "This console or the CLI"
      : "Configuration", action]);
  });
  $("whitelist").tBodies[0].replaceChildren(...rows);
}

async function remove(email) {
  if (!(await confirmAction(`Take ${email} off the whitelist? Admins keep their role.`,
    "Remove"))) return;
  const response = await authorized(`/admin-whitelist/${encodeURIComponent(email)}`,
    { method: "DELETE" });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  announce(`${email} removed.`);
  await load();
}

$("add-address").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("whitelist-email").value.trim();
  const response = await authorized("/admin-whitelist", { method: "POST", body: { email } });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("add-address").reset();
  announce(`${email} added.`);
  await load();
});

if (await requireAdmin()) await load();
ready();
