// Ask for a reset link; the answer is the same whether or not the account exists.
"use strict";

import { $, announce, call, errorMessage, ready } from "../api.js";

$("forgot").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await call("/auth/forgot-password", {
    method: "POST", auth: false, body: { email: $("email").value.trim() },
  });
  if (!response.ok) return announce(await errorMessage(response), { error: true });
  $("forgot").hidden = true;
  announce((await response.json()).message);
});

ready();
