// The source form (/settings/sources/): show only the fields of the chosen network.
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector("[data-source-channel]");
    if (!select) return;
    form.querySelectorAll("[data-for-channel]").forEach(function (block) {
      block.hidden = block.getAttribute("data-for-channel") !== select.value;
    });
  }
  function init() {
    document.querySelectorAll("[data-source-form]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (event) {
        if (event.target.matches("[data-source-channel]")) sync(form);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
