// Users: a searchable, filtered, paginated list; each email opens the user's page.
"use strict";

import {
  $, announce, authorized, element, errorMessage, ready, row, when,
} from "../api.js";
import { requireAdmin } from "./console.js";
import { pagedSearch } from "./paged_search.js";

const LIMIT = 20;
const pages = pagedSearch(load);

async function fillRoles() {
  const response = await authorized("/roles");
  if (!response.ok) return;
  for (const role of (await response.json()).roles) {
    $("role").append(element("option", role.name, { value: role.name }));
  }
}

function query() {
  const params = new URLSearchParams({ page: String(pages.page), limit: String(LIMIT) });
  for (const name of ["q", "role", "status"]) {
    const value = $("filters").elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function status(user) {
  if (!user.isActive) return "Deactivated";
  if (user.mfaLocked) return "Second step locked";
  return user.emailVerified ? "Active" : "Active, email not verified";
}

async function load() {
  const response = await authorized(`/users?${query()}`);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  const { users, pagination } = await response.json();
  const rows = users.map((user) => {
    const link = element("a", user.email || `(no email) ${user.username}`, {
      href: `/admin/users/${user._id}`,
    });
    return row([link, user.username, user.roles.join(", "), status(user),
      user.mfaEnabled ? "Yes" : "No", when(user.lastSignInAt)]);
  });
  $("users").tBodies[0].replaceChildren(...rows);
  const found = `${pagination.total} ${pagination.total === 1 ? "user" : "users"} found`;
  $("users-caption").textContent = `Users: ${found}`;
  pages.show(pagination);
  announce(`${found}.`);
}


if (await requireAdmin()) {
  await fillRoles();
  await load();
}
ready();
