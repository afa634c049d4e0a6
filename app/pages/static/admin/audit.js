// The audit log: filtered by event, outcome, user and time; paged; exported as CSV.
"use strict";

import { $, announce, authorized, errorMessage, ready, row, when } from "../api.js";
import { requireAdmin } from "./console.js";
import { pagedSearch } from "./paged_search.js";

const LIMIT = 50;
const pages = pagedSearch(load);

function filters() {
  const params = new URLSearchParams();
  const form = $("filters").elements;
  for (const name of ["event", "outcome", "user"]) {
    const value = form[name].value.trim();
    if (value) params.set(name, value);
  }
  for (const name of ["from", "to"]) {
    // datetime-local is the person's local time; the API takes an aware ISO 8601 time.
    if (form[name].value) params.set(name, new Date(form[name].value).toISOString());
  }
  return params;
}

async function load() {
  const params = filters();
  params.set("page", String(pages.page));
  params.set("limit", String(LIMIT));
  const response = await authorized(`/audit-events?${params}`);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  const { events, pagination } = await response.json();
  $("events").tBodies[0].replaceChildren(...events.map((event) => row([
    when(event.time), event.event, event.outcome, event.userId ?? "", event.targetUserId ?? "",
    event.clientId ?? "", event.ip ?? "", event.details ? JSON.stringify(event.details) : "",
  ])));
  $("events-caption").textContent = `Events, newest first: ${pagination.total} found`;
  pages.show(pagination);
  announce(`${pagination.total} ${pagination.total === 1 ? "event" : "events"} found.`);
}

// The export needs the bearer token, so it is fetched here and handed to the browser.
async function exportCsv() {
  const response = await authorized(`/audit-events/export?${filters()}`);
  if (!response.ok) {
    announce(await errorMessage(response), { error: true });
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "audit-events.csv";
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
  announce("Export downloaded.");
}

$("export").addEventListener("click", exportCsv);

const preset = new URLSearchParams(window.location.search).get("user");
if (preset) $("user").value = preset;
if (await requireAdmin()) await load();
ready();
