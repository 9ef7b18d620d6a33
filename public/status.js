// Keeps a netpulse status page live: its own stream brings each shown
// monitor's checks and speed tests, and this updates the rows in place.
(function () {
  var main = document.querySelector("[data-status-page]");
  if (!main || !window.EventSource) return;
  var name = main.getAttribute("data-status-page");
  var source = new EventSource("/status/" + encodeURIComponent(name) + "/events");
  function summarise() {
    var rows = main.querySelectorAll("[data-monitor]");
    var checked = 0, down = 0;
    rows.forEach(function (row) {
      var state = row.getAttribute("data-state");
      if (state !== "unknown") checked++;
      if (state === "down") down++;
    });
    var summary = main.querySelector(".status-summary");
    if (!summary || checked === 0) return;
    summary.textContent = down === 0 ? "All systems operational" : down + " of " + checked + " down";
    summary.setAttribute("data-tone", down === 0 ? "up" : "down");
  }
  function figure(value, unit) {
    return value === null || value === undefined ? "–" : (value >= 100 ? value.toFixed(0) : value.toFixed(1)) + " " + unit;
  }
  source.addEventListener("probe", function (event) {
    var probe = JSON.parse(event.data);
    main.querySelectorAll("[data-monitor]").forEach(function (row) {
      if (row.getAttribute("data-monitor") !== probe.monitor) return;
      var state = probe.up ? "up" : "down";
      row.setAttribute("data-state", state);
      row.querySelector(".status-state").textContent = state;
      row.querySelector(".status-response").textContent = probe.response_ms == null ? "" : figure(probe.response_ms, "ms");
      var at = row.querySelector(".status-at");
      var when = new Date(probe.at);
      at.setAttribute("datetime", probe.at);
      at.textContent = isNaN(when) ? probe.at : when.toLocaleString();
    });
    summarise();
  });
  source.addEventListener("speed", function (event) {
    var sample = JSON.parse(event.data);
    main.querySelectorAll("[data-target]").forEach(function (row) {
      if (row.getAttribute("data-target") !== sample.target) return;
      row.querySelector('[data-field="download"]').textContent = "↓ " + figure(sample.download_mbps, "Mbit/s");
      row.querySelector('[data-field="upload"]').textContent = "↑ " + figure(sample.upload_mbps, "Mbit/s");
      row.querySelector('[data-field="latency"]').textContent = figure(sample.latency_ms, "ms");
    });
  });
})();
