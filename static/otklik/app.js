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
  // A form with data-download (the dashboard's information note) is fetched rather than followed, so that the page
  // can say the file is being prepared (a long period takes seconds) and show what went wrong in place: the form's
  // own text for a refused request (400), data-download-expired when the answer is a page (the login page of an
  // ended session), data-download-failed with {status} otherwise. Without fetch the form downloads as before.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-download") || !window.fetch) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    var busy = form.querySelector("[data-download-busy]");
    var error = form.querySelector("[data-download-error]");
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button"));
    function finish(message) {
      busy.hidden = true;
      buttons.forEach(function (button) { button.disabled = false; });
      error.textContent = message || "";
      error.hidden = !message;
    }
    function failed(status) { finish((form.getAttribute("data-download-failed") || "").replace("{status}", status)); }
    error.hidden = true;
    busy.hidden = false;
    buttons.forEach(function (button) { button.disabled = true; });
    fetch(form.action + "?" + new URLSearchParams(data).toString(), { credentials: "same-origin" })
      .then(function (response) {
        var disposition = response.headers.get("Content-Disposition") || "";
        if (response.ok && disposition.indexOf("attachment") === 0) {
          return response.blob().then(function (blob) {
            var name = /filename="([^"]+)"/.exec(disposition);
            var link = document.createElement("a");
            link.href = URL.createObjectURL(blob);
            link.download = name ? name[1] : "";
            document.body.appendChild(link);
            link.click();
            link.remove();
            setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
            finish("");
          });
        }
        if (response.status === 400) { return response.text().then(finish); }
        if (response.ok) { finish(form.getAttribute("data-download-expired")); return; }
        failed(String(response.status));
      })
      .catch(function () { failed("—"); });
  });
})();
