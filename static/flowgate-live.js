// Pages that show an execution update themselves from its live stream
// (GET /api/v1/executions/{id}/events): an element with data-events-url (and the id of the last
// line shown in data-last-event-id) gets new log lines appended to its [data-live-logs] list, and
// the page reloads when a status or a task changes, so everything else it shows is current.
(function () {
  var holder = document.querySelector("[data-events-url]");
  if (!holder || !window.EventSource) { return; }
  var url = holder.dataset.eventsUrl;
  var last = holder.dataset.lastEventId;
  var source = new EventSource(url + (last ? "?last_event_id=" + encodeURIComponent(last) : ""));
  var reload = null;
  function refresh() {
    if (reload === null) { reload = window.setTimeout(function () { window.location.reload(); }, 300); }
  }
  source.addEventListener("log", function (event) {
    var list = document.querySelector("[data-live-logs]");
    if (!list) { return; }
    var line = JSON.parse(event.data);
    var item = document.createElement("li");
    item.className = "log " + line.level;
    item.textContent = line.timestamp.substring(11, 19) + " " + line.level + " " + line.message;
    list.appendChild(item);
  });
  source.addEventListener("status", refresh);
  source.addEventListener("task", refresh);
  source.addEventListener("end", function () { source.close(); refresh(); });
})();
