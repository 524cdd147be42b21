// A form shown again with errors: move focus to its error summary, so the reader starts there.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  // The inbox's "select all" box ticks every approval of the page that can be approved at once.
  var all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=approval]").forEach(function (box) { box.checked = all.checked; });
    });
  }
});
