// The console's sign-in: the password, then the second step when the account has one; or
// a passkey. Only admins get in.
"use strict";

import { announce, ready, signOut, useToken } from "../api.js";
import { signInFlow } from "../sign_in_flow.js";

function destination() {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  // Only a path of this console: never another site.
  return next.startsWith("/admin/") && !next.startsWith("//") ? next : "/admin/dashboard";
}

signInFlow({
  async onSignedIn(body) {
    useToken(body.accessToken);
    if (body.user.role !== "admin") {
      announce("Only admins can sign in to this console.", { error: true });
      await signOut(window.location.pathname);
      return;
    }
    window.location.assign(destination());
  },
});

ready();
