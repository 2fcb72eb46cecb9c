// Draws every chart of a dashboard page with Chart.js: each <canvas data-chart="ID"> takes its specification
// from the JSON element #ID written by the server (dashboards.charts.chart). A horizontal bar chart labels
// every bar (no skipped labels) and grows with its bars; the sentence under a chart says when it shows only
// part of its values (the server writes it).
(function () {
  "use strict";
  var COLORS = ["#2f6fb2", "#b42318", "#1a7f37", "#b54708", "#6941c6", "#0e7490"];
  var locale = document.documentElement.lang || undefined;

  function percent(value) { return (value * 100).toLocaleString(locale, {maximumFractionDigits: 1}) + "\u00a0%"; }
  function number(value) { return Number(value).toLocaleString(locale, {maximumFractionDigits: 2}); }

  function draw(canvas) {
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    var format = spec.percent ? percent : number;
    var valueAxis = spec.horizontal ? "x" : "y";
    var labelAxis = spec.horizontal ? "y" : "x";
    var scales = {};
    scales[valueAxis] = {beginAtZero: true, ticks: {callback: function (v) { return format(v); }}};
    if (spec.percent) { scales[valueAxis].max = 1; }
    if (spec.horizontal) {
      // every bar keeps its label; long names are cut with an ellipsis, the tooltip has them whole
      scales[labelAxis] = {ticks: {autoSkip: false, callback: function (v) {
        var text = this.getLabelForValue(v);
        return text.length > 40 ? text.slice(0, 39) + "…" : text;
      }}};
      canvas.parentNode.style.height = Math.max(280, spec.labels.length * 22 + 60) + "px";
    }
    var chart = new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (d, i) {
          var color = COLORS[i % COLORS.length];
          return {label: d.label, data: d.data, borderColor: color, backgroundColor: color + "99",
                  tension: 0.2, pointRadius: spec.labels.length > 60 ? 0 : 3, spanGaps: true};
        })
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        scales: scales,
        plugins: {
          legend: {display: spec.datasets.length > 1},
          tooltip: {callbacks: {label: function (ctx) {
            return ctx.dataset.label + ": " + format(spec.horizontal ? ctx.parsed.x : ctx.parsed.y);
          }}}
        }
      }
    });
    canvas.dataset.total = String(spec.total || spec.labels.length);
    canvas.dataset.drawn = String(chart.data.datasets.reduce(function (n, d) { return n + d.data.length; }, 0));
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
