// Import pages: the size limit checked before a large file is sent, and no double submits.
(function () {
  "use strict";

  function feedbackFor(input) {
    var box = input.parentNode.querySelector(".import-size-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "invalid-feedback d-block import-size-error";
      input.insertAdjacentElement("afterend", box);
    }
    return box;
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) { return; }
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    var tooBig = !!(file && limit && file.size > limit);
    input.setCustomValidity(tooBig ? input.getAttribute("data-too-big") : "");
    input.classList.toggle("is-invalid", tooBig);
    var box = feedbackFor(input);
    box.textContent = tooBig ? input.getAttribute("data-too-big") : "";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var input = form.querySelector("input[type=file][data-max-bytes]");
    if (input && !input.checkValidity()) {
      event.preventDefault();
      input.focus();
      return;
    }
    var button = event.submitter && event.submitter.hasAttribute("data-busy-label")
      ? event.submitter : form.querySelector("button[data-busy-label]");
    if (button) {
      // Disabled after the browser has collected the form, so the click still submits it.
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-label");
      }, 0);
    }
  });
})();
