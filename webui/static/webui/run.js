// Run detail: poll the run's progress until it ends (then reload for the final figures). Its lineage graph is
// drawn by static/dashboards/lineage.js, the lineage page's own script.
(function () {
  "use strict";
  const box = document.getElementById("run-progress-box");
  if (box && box.dataset.ended !== "1") {
    const poll = async () => {
      const response = await fetch(box.dataset.progressUrl, {credentials: "same-origin"});
      const data = await response.json();
      document.getElementById("run-progress").value = data.percent;
      const step = document.getElementById("run-step");
      if (step) { step.textContent = data.step_label; }
      document.getElementById("run-rows").textContent = Number(data.rows_read).toLocaleString(document.documentElement.lang || undefined);
      document.getElementById("run-status").textContent = data.status_label;
      if (data.ended) { window.location.reload(); return; }
      window.setTimeout(poll, 1500);
    };
    poll();
  }
})();
