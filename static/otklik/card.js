// Otklik: the incident card. The answer editor follows the chosen kind: the text template, the promised date, and
// why «Publish» is off for a final answer without the lead department's accepted information. Event delegation:
// the card is swapped by HTMX, the listeners stay on the document.
(function () {
  "use strict";

  function chosenKind(editor) {
    var checked = editor.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "";
  }

  function templateOf(editor, kind) {
    var input = editor.querySelector("input[name=kind][value='" + kind + "']");
    return input ? input.getAttribute("data-template") || "" : "";
  }

  // Show what belongs to the kind; switch «Publish» off where the rules forbid it.
  function sync(editor) {
    var kind = chosenKind(editor);
    editor.querySelectorAll("[data-kind-only]").forEach(function (el) {
      var kinds = el.getAttribute("data-kind-only").split(",");
      el.classList.toggle("d-none", kinds.indexOf(kind) === -1);
    });
    var blocked = kind === "final" && editor.getAttribute("data-lead-accepted") !== "1";
    var publish = editor.querySelector("[data-publish]");
    if (publish) { publish.disabled = blocked; }
    var explain = editor.querySelector("[data-final-blocked]");
    if (explain) { explain.classList.toggle("d-none", !blocked); }
  }

  // The text follows the kind while the operator has not written anything of his own.
  function switchTemplate(editor, previousKind, kind) {
    var text = editor.querySelector("[data-answer-text]");
    if (!text) { return; }
    var untouched = text.value.trim() === "" || text.value === templateOf(editor, previousKind);
    if (untouched) { text.value = templateOf(editor, kind); }
  }

  function init(root) {
    (root || document).querySelectorAll("[data-answer-editor]").forEach(function (editor) {
      editor.setAttribute("data-kind", chosenKind(editor));
      sync(editor);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || target.name !== "kind" || !target.closest) { return; }
    var editor = target.closest("[data-answer-editor]");
    if (!editor) { return; }
    var previous = editor.getAttribute("data-kind") || "";
    switchTemplate(editor, previous, target.value);
    editor.setAttribute("data-kind", target.value);
    sync(editor);
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
