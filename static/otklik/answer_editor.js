// Otklik: the answer editor on the incident card.
// - «Вставить» of a similar published answer puts its text into the editor the operator worked in last (at the
//   cursor, replacing a selection), then asks for a fresh quality check.
// - After each live check, the head's override field of that form shows when the check found errors.
// - A kind switched by card.js changes the text without an input event: the check is asked for here.
// Loaded with the card's answer block (which HTMX may swap in again): the listeners are bound once.
(function () {
  "use strict";
  if (window.otklikAnswerEditor) { return; }
  window.otklikAnswerEditor = true;

  var lastText = null;

  function textAreas() {
    return Array.prototype.slice.call(document.querySelectorAll("#answers [data-answer-text]"));
  }

  function visible(el) {
    return !!(el && el.isConnected && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  // The editor to insert into: the one focused last, else the first visible one, else any.
  function targetText() {
    if (lastText && lastText.isConnected) { return lastText; }
    var all = textAreas();
    for (var i = 0; i < all.length; i++) {
      if (visible(all[i])) { return all[i]; }
    }
    return all[0] || null;
  }

  function askCheck(text) {
    var field = text.closest("[data-answer-text-field]");
    if (field && window.htmx) { window.htmx.trigger(field, "answer-text-changed"); }
  }

  function insert(text, value) {
    var start = typeof text.selectionStart === "number" ? text.selectionStart : text.value.length;
    var end = typeof text.selectionEnd === "number" ? text.selectionEnd : text.value.length;
    if (document.activeElement !== text && lastText !== text) {
      // Never focused: the borrowed text goes at the end, on a line of its own.
      start = end = text.value.length;
    }
    var before = text.value.slice(0, start);
    var glue = before && !/\s$/.test(before) ? "\n" : "";
    text.setRangeText(glue + value, start, end, "end");
    text.focus();
    lastText = text;
    askCheck(text);
  }

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("[data-answer-text]")) { lastText = target; }
  });

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-insert-answer]") : null;
    if (!button) { return; }
    event.preventDefault();
    var text = targetText();
    if (!text) { return; }
    insert(text, button.getAttribute("data-text") || "");
  });

  // card.js replaces the text when the kind changes (it listens first): check the new text afterwards.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || target.name !== "kind" || !target.closest) { return; }
    var editor = target.closest("[data-answer-editor]");
    var text = editor ? editor.querySelector("[data-answer-text]") : null;
    if (text) { window.setTimeout(function () { askCheck(text); }, 0); }
  });

  // The override field of the form whose text was checked follows the check's errors (kept open once typed in).
  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.detail && event.detail.target;
    if (!panel || !panel.matches || !panel.matches("[data-answer-findings]")) { return; }
    var result = panel.querySelector("[data-answer-check]");
    var form = panel.closest("form");
    var override = form ? form.querySelector("[data-quality-override]") : null;
    if (!result || !override) { return; }
    var errors = parseInt(result.getAttribute("data-errors") || "0", 10) > 0;
    var input = override.querySelector("textarea, input");
    var kept = input && input.value.trim() !== "";
    override.classList.toggle("d-none", !errors && !kept);
  });
})();
