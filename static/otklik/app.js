// Otklik: small behaviours shared by every page. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";
  // Ctrl+Enter sends the form the cursor is in.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = event.target && event.target.closest ? event.target.closest("form") : null;
      if (form) {
        event.preventDefault();
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      }
    }
  });
  // "/" focuses the search box of the page (an element with data-search-box).
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.key === "/" && tag !== "input" && tag !== "textarea" && tag !== "select") {
      var box = document.querySelector("[data-search-box]");
      if (box) { event.preventDefault(); box.focus(); }
    }
  });
})();
