// The operators' execution page keeps its changing parts current (status, controls, graph,
// timeline, logs, approvals) while the execution is unfinished: it follows the execution's live
// stream (Server-Sent Events, the page's data-events-url) and, when a status, a task or a log line
// arrives, fetches the page's live fragment (with the log filter the page shows) and swaps it in,
// the header's status and controls from the fragment's #fg-head-next. Until the stream is open (a
// browser without EventSource, a server that cannot stream, a reconnect) it fetches the fragment
// every two seconds instead. Once the fragment says X-Execution-Finished it stops; nothing reloads,
// so a message the page shows stays. No library, no network beyond this server.
function flowgateFollow() {
  "use strict";
  var holder = document.getElementById("fg-live");
  if (!holder || holder.dataset.finished === "true" || !window.fetch) { return; }
  var INTERVAL_MS = 2000, SETTLE_MS = 250;
  var streaming = false, fetching = false, again = false, done = false, timer = null;
  var source = null;
  function finish() {
    done = true;
    holder.dataset.finished = "true";
    if (source) { source.close(); }
  }
  function applyHead() {
    var next = holder.querySelector("#fg-head-next");
    if (!next || !next.content) { return; }
    [["status", "fg-status"], ["controls", "fg-controls"]].forEach(function (pair) {
      var part = next.content.querySelector("[data-part=" + pair[0] + "]");
      var target = document.getElementById(pair[1]);
      if (part && target) { target.innerHTML = part.innerHTML; }
    });
  }
  function refresh() {
    if (done) { return; }
    if (fetching) { again = true; return; }
    fetching = true;
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
        applyHead();
        Array.prototype.forEach.call(holder.querySelectorAll("details summary"), function (s) {
          if (open.indexOf(s.textContent) !== -1) { s.parentNode.open = true; }
        });
        if (answer.finished) { finish(); }
      }, function () { /* the next event or poll tries again */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; soon(); }
      });
  }
  function soon() {  // several events at once: one fetch
    if (timer === null) { timer = window.setTimeout(function () { timer = null; refresh(); }, SETTLE_MS); }
  }
  function poll() {
    if (done) { return; }
    if (!streaming) { refresh(); }
    window.setTimeout(poll, INTERVAL_MS);
  }
  if (window.EventSource && holder.dataset.eventsUrl) {
    source = new EventSource(holder.dataset.eventsUrl);
    source.addEventListener("open", function () { streaming = true; soon(); });
    source.addEventListener("error", function () { streaming = false; });
    ["status", "task", "log"].forEach(function (kind) { source.addEventListener(kind, soon); });
    source.addEventListener("end", function () { source.close(); streaming = false; soon(); });
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
