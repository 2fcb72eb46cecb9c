// Run detail: poll the run's progress until it ends (then reload for the final figures); draw its lineage.
(function () {
  "use strict";
  const box = document.getElementById("run-progress-box");
  if (box && box.dataset.ended !== "1") {
    const poll = async () => {
      const response = await fetch(box.dataset.progressUrl, {credentials: "same-origin"});
      const data = await response.json();
      document.getElementById("run-progress").value = data.percent;
      document.getElementById("run-step").textContent = data.step_label;
      document.getElementById("run-rows").textContent = Number(data.rows_read).toLocaleString(document.documentElement.lang || undefined);
      document.getElementById("run-status").textContent = data.status_label;
      if (data.ended) { window.location.reload(); return; }
      window.setTimeout(poll, 1500);
    };
    poll();
  }
  const data = document.getElementById("lineage-data");
  const container = document.getElementById("lineage-graph");
  if (data && container && window.cytoscape) {
    const graph = JSON.parse(data.textContent);
    const palette = ["#2f6fb2", "#1a7f37", "#b54708", "#7e3fb2", "#b42318", "#0e7490"];
    window.lineageGraph = window.cytoscape({
      container: container,
      elements: graph.nodes.concat(graph.edges),
      layout: {name: "breadthfirst", directed: true, spacingFactor: 1.2, animate: false},
      style: [
        {selector: "node", style: {"label": "data(label)", "font-size": 10, "color": "#1f2933",
                                   "text-valign": "bottom", "text-margin-y": 3, "width": 14, "height": 14}},
      ].concat(palette.map((colour, index) => (
        {selector: "node[table = " + index + "]", style: {"background-color": colour}}
      ))).concat([
        {selector: "edge", style: {"width": 1, "line-color": "#9aa5b1", "target-arrow-color": "#9aa5b1",
                                   "target-arrow-shape": "triangle", "curve-style": "bezier", "label": "data(label)",
                                   "font-size": 8, "color": "#616e7c", "text-rotation": "autorotate"}},
      ]),
    });
  }
})();
