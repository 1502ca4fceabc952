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
  // Downloads built in the request (the dashboard's information note and summary letter) are fetched rather than
  // followed, so that the page can say the file is being prepared (a long period takes seconds) and show what went
  // wrong in place. The host is a form with data-download, or an element with data-download around a link; in it
  // (templates/_download_status.html), [data-download-busy] is shown meanwhile and [data-download-error] gets the
  // server's own text for a refused request (400), data-download-expired when the answer is a page (the login page
  // of an ended session), data-download-failed with {status} otherwise — both messages read from the nearest
  // element that has them. Without fetch the form or link downloads as before.
  function download(host, url) {
    var busy = host.querySelector("[data-download-busy]");
    var error = host.querySelector("[data-download-error]");
    var messages = host.closest("[data-download-failed]") || host;
    var buttons = Array.prototype.slice.call(host.querySelectorAll("button"));
    function finish(message) {
      host.removeAttribute("aria-busy");
      busy.hidden = true;
      buttons.forEach(function (button) { button.disabled = false; });
      error.textContent = message || "";
      error.hidden = !message;
    }
    function failed(status) {
      finish((messages.getAttribute("data-download-failed") || "").replace("{status}", status));
    }
    if (host.hasAttribute("aria-busy")) { return; }  // one file at a time
    host.setAttribute("aria-busy", "true");
    error.hidden = true;
    busy.hidden = false;
    buttons.forEach(function (button) { button.disabled = true; });
    fetch(url, { credentials: "same-origin" })
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
        if (response.ok) { finish(messages.getAttribute("data-download-expired")); return; }
        failed(String(response.status));
      })
      .catch(function () { failed("—"); });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-download") || !window.fetch) { return; }
    event.preventDefault();
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
    download(form, form.action + "?" + new URLSearchParams(data).toString());
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    var host = link ? link.closest("[data-download]") : null;
    if (!host || host instanceof HTMLFormElement || !window.fetch) { return; }
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    event.preventDefault();
    download(host, link.href);
  });
})();
