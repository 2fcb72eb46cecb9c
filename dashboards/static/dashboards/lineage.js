// The lineage graph with cytoscape.js: tables are compound nodes placed source -> staging -> target, columns
// inside them, edges labelled with their transformation. Clicking a node fetches its catalog entry (JSON) when
// the page has a panel for it. A column's label is its name and, under it, the file's own header.
(function () {
  "use strict";
  var container = document.getElementById("lineage-graph");
  var graph = JSON.parse(document.getElementById("lineage-data").textContent);
  var labelsElement = document.getElementById("lineage-labels");
  var labels = labelsElement ? JSON.parse(labelsElement.textContent) : {};
  var panel = document.getElementById("lineage-entry");

  var cy = cytoscape({
    container: container,
    elements: graph.elements,
    layout: {name: "preset", fit: true, padding: 30},
    wheelSensitivity: 0.3,
    style: [
      {selector: "node", style: {"label": "data(label)", "font-size": 15, "text-valign": "center",
                                 "text-halign": "center", "width": 220, "height": 44, "shape": "round-rectangle",
                                 "text-wrap": "wrap", "text-max-width": 210, "color": "#1f2933",
                                 "background-color": "#e8f0fa", "border-width": 1, "border-color": "#2f6fb2"}},
      {selector: "node.table", style: {"text-valign": "top", "text-halign": "center", "font-weight": "bold",
                                       "font-size": 17, "padding": 14, "background-opacity": 0.25}},
      {selector: "node.source", style: {"background-color": "#fff4e5", "border-color": "#b54708"}},
      {selector: "node.staging", style: {"background-color": "#f5f7fa", "border-color": "#616e7c"}},
      {selector: "node.target", style: {"background-color": "#e6f4ea", "border-color": "#1a7f37"}},
      {selector: "node:selected", style: {"border-width": 3, "border-color": "#b42318"}},
      {selector: "edge", style: {"curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
                                 "line-color": "#8896a6", "target-arrow-color": "#8896a6", "label": "data(label)",
                                 "font-size": 12, "text-rotation": "autorotate", "text-background-color": "#fff",
                                 "text-background-opacity": 0.8, "text-background-padding": 1}}
    ]
  });
  container.dataset.nodes = String(cy.nodes().length);
  container.dataset.edges = String(cy.edges().length);
  window.lineageGraph = cy;

  function row(term, value) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term;
    dd.textContent = value === null || value === undefined || value === "" ? "—" : value;
    return [dt, dd];
  }

  function show(entry, url) {
    panel.replaceChildren();
    var title = document.createElement("h2");
    var columns = entry.columns || [entry];
    title.textContent = entry.column_name ? entry.table_name + "." + entry.column_name : entry.table_name;
    panel.appendChild(title);
    columns.forEach(function (e) {
      var list = document.createElement("dl");
      list.className = "catalog-entry";
      [[labels.column, e.column_name], [labels.type, e.data_type], [labels.description, e.description],
       [labels.business_meaning, e.business_meaning], [labels.owner, e.owner], [labels.tags, e.tags.join(", ")],
       [labels.sensitivity, e.sensitivity_level], [labels.personal_data, e.sensitivity_state]
      ].forEach(function (pair) { row(pair[0], pair[1]).forEach(function (el) { list.appendChild(el); }); });
      panel.appendChild(list);
    });
    var link = document.createElement("a");
    link.href = url;
    link.textContent = labels.open_catalog;
    panel.appendChild(link);
  }

  if (!panel || !container.dataset.entryUrl) { return; }

  cy.on("tap", "node", function (event) {
    var data = event.target.data();
    var params = new URLSearchParams({table: data.table});
    if (data.column) { params.set("column", data.column); }
    panel.textContent = labels.loading;
    fetch(container.dataset.entryUrl + "?" + params.toString(), {headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.entry) { show(body.entry, body.catalog_url); } else { panel.textContent = body.error; }
      })
      .catch(function () { panel.textContent = labels.failed; });
  });
})();
