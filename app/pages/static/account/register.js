// Create an account; with verified addresses required, the page says to check the mail.
"use strict";

import { $, announce, call, errorMessage, ready } from "../api.js";

$("register").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { email: $("email").value.trim(), password: $("password").value };
  const response = await call("/auth/register", { method: "POST", auth: false, body });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("password").value = "";
  const data = await response.json();
  if (data.accessToken) {
    window.location.assign("/account/?welcome=1");
    return;
  }
  $("register").hidden = true;
  announce(data.message);
});

ready();
