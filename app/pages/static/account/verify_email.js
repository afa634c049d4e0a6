// Verify the address with the mailed token. Signed in here (the refresh cookie), the
// session shows the account is yours and everything stays; else the password does.
"use strict";

import { $, announce, call, errorMessage, ready, refresh } from "../api.js";
import { takeToken } from "./mailed_token.js";

const token = takeToken();

async function verify({ password = "", signedIn = false }) {
  const body = password ? { token, password } : { token };
  const response = await call("/auth/verify-email", { method: "POST", auth: signedIn, body });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("verify").hidden = true;
  $("after-verify").hidden = signedIn;
  announce((await response.json()).message);
}

$("verify").addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = $("password").value;
  $("password").value = "";
  await verify({ password });
});

if (!token) announce("This page needs the link from your email.", { error: true });
else if (await refresh()) await verify({ signedIn: true });
ready();
