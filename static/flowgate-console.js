// The operators' execution page refreshes its changing parts (graph, timeline, logs) every two
// seconds while the execution is unfinished: it fetches the page's live fragment (with the log
// filter the page shows) and swaps it in; the answer's X-Execution-Finished header ends the polling
// and reloads the page once, so its buttons match the final status. No library, no network beyond
// this server.
function flowgateFollow() {
  "use strict";
  var holder = document.getElementById("fg-live");
  if (!holder || holder.dataset.finished === "true" || !window.fetch) { return; }
  var INTERVAL_MS = 2000;
  function poll() {
    var url = holder.dataset.liveUrl + window.location.search;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        var finished = response.headers.get("X-Execution-Finished") === "true";
        return response.text().then(function (html) { return { html: html, finished: finished }; });
      })
      .then(function (answer) {
        var open = Array.prototype.map.call(holder.querySelectorAll("details[open] summary"),
          function (s) { return s.textContent; });
        holder.innerHTML = answer.html;
        Array.prototype.forEach.call(holder.querySelectorAll("details summary"), function (s) {
          if (open.indexOf(s.textContent) !== -1) { s.parentNode.open = true; }
        });
        if (answer.finished) { window.location.reload(); return; }
        window.setTimeout(poll, INTERVAL_MS);
      })
      .catch(function () { window.setTimeout(poll, INTERVAL_MS * 2); });
  }
  window.setTimeout(poll, INTERVAL_MS);
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", flowgateFollow);
} else {
  flowgateFollow();
}

// A key shown once: its Copy button copies it (the clipboard API, or selecting it for Ctrl-C).
// The admin loads this script in <head>, before the button exists: one listener on the document.
document.addEventListener("click", function (event) {
  "use strict";
  var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
  if (!button) { return; }
  var field = document.getElementById(button.dataset.copyTarget);
  if (!field) { return; }
  var done = function (text) { button.textContent = text; };
  var fallback = function () {
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    done(copied ? "Copied" : "Selected: press Ctrl-C");
  };
  field.focus();
  field.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(function () { done("Copied"); }, fallback);
  } else {
    fallback();
  }
});
