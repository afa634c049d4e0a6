// The dashboard: totals, and per hour and per day what happened at the door.
"use strict";

import { $, announce, authorized, element, errorMessage, ready, row } from "../api.js";
import { barChart } from "./chart.js";
import { requireAdmin } from "./console.js";

const hour = (bucket) => new Date(bucket.start).toISOString().slice(11, 16);
const day = (bucket) => new Date(bucket.start).toISOString().slice(5, 10);
const SIGN_INS = { name: "sign-ins", key: "signIns", className: "series-1" };
const FAILED = { name: "failed sign-ins", key: "failures", className: "series-2" };
const REFUSED = { name: "refused checks", key: "refused", className: "series-3" };
const NEW_USERS = { name: "new users", key: "newUsers", className: "series-1" };

function total(buckets, key) {
  return buckets.reduce((sum, bucket) => sum + bucket[key], 0);
}

function showTotals(figures) {
  const share = figures.users ? Math.round((100 * figures.withSecondFactor) / figures.users) : 0;
  const pairs = [
    ["Users", figures.users], ["Active users", figures.activeUsers],
    ["With a second factor", `${figures.withSecondFactor} (${share}%)`],
    ["Sign-ins, last 24 hours", total(figures.hourly, "signIns")],
    ["Failed sign-ins, last 24 hours", total(figures.hourly, "failures")],
    ["New users, last 30 days", total(figures.daily, "newUsers")],
  ];
  $("totals").replaceChildren(...pairs.flatMap(([term, value]) => [
    element("dt", term), element("dd", value),
  ]));
}

async function load() {
  const response = await authorized("/dashboard");
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  const figures = await response.json();
  showTotals(figures);
  barChart($("hourly-chart"), {
    buckets: figures.hourly, series: [SIGN_INS, FAILED], label: hour,
    summary: `Per hour: ${total(figures.hourly, "signIns")} sign-ins and `
      + `${total(figures.hourly, "failures")} failed in the last 24 hours`,
  });
  barChart($("daily-chart"), {
    buckets: figures.daily, series: [SIGN_INS, FAILED, REFUSED], label: day,
    summary: `Per day: ${total(figures.daily, "signIns")} sign-ins, `
      + `${total(figures.daily, "failures")} failed, ${total(figures.daily, "refused")} `
      + "refused checks in the last 30 days",
  });
  barChart($("new-users-chart"), {
    buckets: figures.daily, series: [NEW_USERS], label: day,
    summary: `${total(figures.daily, "newUsers")} new users in the last 30 days`,
  });
  $("hourly-table").tBodies[0].replaceChildren(...figures.hourly.map((b) => row([
    hour(b), b.signIns, b.failures, b.refused,
  ])));
  $("daily-table").tBodies[0].replaceChildren(...figures.daily.map((b) => row([
    day(b), b.signIns, b.failures, b.refused, b.newUsers,
  ])));
}

if (await requireAdmin()) await load();
ready();
