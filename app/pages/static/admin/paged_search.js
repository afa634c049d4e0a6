// A filter form over a paged list: the form's submit starts at page one, the pager's
// buttons move a page, and the pager tells where the list stands.
"use strict";

import { $ } from "../api.js";

export function pagedSearch(load) {
  const state = { page: 1 };
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    state.page = 1;
    load();
  });
  $("previous").addEventListener("click", () => { state.page -= 1; load(); });
  $("next").addEventListener("click", () => { state.page += 1; load(); });
  state.show = (pagination) => {
    $("page-of").textContent = `Page ${pagination.page} of ${Math.max(1, pagination.totalPages)}`;
    $("previous").disabled = state.page <= 1;
    $("next").disabled = state.page >= pagination.totalPages;
  };
  return state;
}
