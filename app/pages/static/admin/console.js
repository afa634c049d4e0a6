// What every page of the admin console does first: sign the page in from the refresh cookie
// and make sure the person is an admin; else send them to the sign-in page.
"use strict";

import { $, announce, authorized, refresh, signOut } from "../api.js";

export const SIGN_IN = "/admin/sign-in";

export async function requireAdmin() {
  if (!(await refresh())) {
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    window.location.assign(`${SIGN_IN}?next=${next}`);
    return null;
  }
  const response = await authorized("/users/current");
  const me = response.ok ? await response.json() : null;
  const signOutButton = $("sign-out");
  signOutButton.hidden = false;
  signOutButton.addEventListener("click", () => signOut(SIGN_IN));
  if (!me || me.role !== "admin") {
    announce("This console is for admins only.", { error: true });
    return null;
  }
  return me;
}
