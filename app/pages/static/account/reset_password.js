// Set a new password with the mailed token; every session of the account ends.
"use strict";

import { $, announce, call, errorMessage, ready } from "../api.js";
import { takeToken } from "./mailed_token.js";

const token = takeToken();
if (!token) announce("This page needs the link from your email.", { error: true });

$("reset").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await call("/auth/reset-password", {
    method: "POST", auth: false, body: { token, password: $("password").value },
  });
  $("password").value = "";
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("reset").hidden = true;
  $("after-reset").hidden = false;
  announce((await response.json()).message);
});

ready();
