// Confirm a new address with the token mailed to it.
"use strict";

import { $, announce, call, errorMessage, ready, refresh } from "../api.js";
import { takeToken } from "./mailed_token.js";

const token = takeToken();
const signedIn = await refresh();

$("confirm-change").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await call("/auth/email-change/confirm", {
    method: "POST", auth: signedIn, body: { token },
  });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("confirm-change").hidden = true;
  $("after-confirm").hidden = false;
  announce((await response.json()).message);
});

if (!token) announce("This page needs the link from your email.", { error: true });
ready();
