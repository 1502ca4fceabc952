// Otklik inbox: keyboard (j/k move, Enter opens, x ticks), clickable rows, ticking rows for bulk actions.
// "/" (focus the search) is in app.js. Everything is delegated to `document`, so it survives HTMX swaps of the list.
(function () {
  "use strict";

  var current = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-list tr.inbox-row"));
  }

  function isTyping(target) {
    var tag = (target && target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable);
  }

  function setCurrent(index) {
    var list = rows();
    if (!list.length) { current = -1; return; }
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (row) { row.classList.remove("row-current"); });
    current = index;
    var row = list[current];
    row.classList.add("row-current");
    row.scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    var list = rows();
    return current >= 0 && current < list.length ? list[current] : null;
  }

  function open(row, newTab) {
    var href = row && row.getAttribute("data-href");
    if (!href) { return; }
    if (newTab) { window.open(href, "_blank", "noopener"); } else { window.location.assign(href); }
  }

  // --- ticking ---

  function boxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-list input[name=ids]"));
  }

  function refreshSelection() {
    var ticked = boxes().filter(function (box) { return box.checked; }).length;
    var label = document.querySelector("[data-selected-count]");
    if (label) {
      label.textContent = ticked ? label.getAttribute("data-some") + " " + ticked : label.getAttribute("data-none");
    }
    document.querySelectorAll("[data-bulk-button]").forEach(function (button) { button.disabled = ticked === 0; });
    var all = document.querySelector("[data-check-all]");
    if (all) {
      var total = boxes().length;
      all.checked = total > 0 && ticked === total;
      all.indeterminate = ticked > 0 && ticked < total;
    }
    boxes().forEach(function (box) {
      var row = box.closest("tr");
      if (row) { row.classList.toggle("table-active", box.checked); }
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-check-all]")) {
      boxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches && (target.matches("[data-check-all]") || target.matches("#inbox-list input[name=ids]"))) {
      refreshSelection();
    }
  });

  // --- the whole row opens the incident (a click on a checkbox, a link or a button keeps its own meaning) ---

  document.addEventListener("click", function (event) {
    var row = event.target.closest ? event.target.closest("#inbox-list tr.inbox-row") : null;
    if (!row) { return; }
    if (event.target.closest("a, button, input, label, select, textarea")) { return; }
    if (window.getSelection && String(window.getSelection()).length) { return; }  // selecting text to copy
    var td = event.target.closest("td");
    if (td && td.classList.contains("col-check")) {
      var box = td.querySelector("input[name=ids]");
      if (box) { box.checked = !box.checked; refreshSelection(); }
      return;
    }
    open(row, event.ctrlKey || event.metaKey);
  });

  // --- keyboard ---

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) { return; }
    if (!document.getElementById("inbox-list")) { return; }
    var key = event.key;
    if (key === "j" || key === "о") {  // "о" is "j" on a Russian layout
      event.preventDefault();
      setCurrent(current + 1);
    } else if (key === "k" || key === "л") {  // "л" is "k"
      event.preventDefault();
      setCurrent(current < 0 ? 0 : current - 1);
    } else if (key === "Enter") {
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "a" || tag === "button") { return; }
      var row = currentRow();
      if (row) { event.preventDefault(); open(row, false); }
    } else if (key === "x" || key === "ч") {  // "ч" is "x"
      var box = currentRow() && currentRow().querySelector("input[name=ids]");
      if (box) {
        event.preventDefault();
        box.checked = !box.checked;
        refreshSelection();
      }
    }
  });

  // Empty filters stay out of the URL that HTMX requests and pushes (a shared link stays short and readable).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.matches || !elt.matches(".inbox-filters")) { return; }
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "") { delete params[key]; }
    });
  });

  // The counters a page loads by itself — the new-items counter (`.inbox-new`, polled) and the views' counters loaded
  // after a dashboard figure's list (`[data-counts-later]`, /inbox/counts/) — take only their own answer: an error
  // or the login page of an ended session is not swapped in. The views' counters then say «?» and why, not
  // «counting…» for ever (`onFailure`).
  var OWN_ANSWERS = [
    { selector: ".inbox-new", path: "/inbox/new-count/", onFailure: null },
    { selector: "[data-counts-later]", path: "/inbox/counts/", onFailure: countsFailed },
  ];
  function countsFailed(nav) {
    var reason = nav.getAttribute("data-counts-failed") || "";
    nav.removeAttribute("aria-busy");
    nav.querySelectorAll("[data-count]").forEach(function (badge) {
      badge.textContent = "?";
      badge.title = reason;
    });
    var total = document.getElementById("inbox-total");
    if (total) { total.textContent = reason; }
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.matches) { return; }
    var xhr = event.detail.xhr;
    OWN_ANSWERS.forEach(function (own) {
      if (!target.matches(own.selector)) { return; }
      if (!xhr || xhr.status !== 200 || (xhr.responseURL || "").indexOf(own.path) === -1) {
        event.detail.shouldSwap = false;
        if (own.onFailure) { own.onFailure(target); }
      }
    });
  });
  document.addEventListener("htmx:sendError", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.matches && elt.matches("[data-counts-later]")) { countsFailed(elt); }
  });

  // A new list (filters changed through HTMX): no current row, selection state from the new boxes.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "inbox-list") { current = -1; }
    refreshSelection();
  });
  document.addEventListener("htmx:afterSettle", refreshSelection);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refreshSelection);
  } else {
    refreshSelection();
  }
})();
