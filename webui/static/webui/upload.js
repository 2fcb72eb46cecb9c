// The upload page: resumable chunked uploads with a progress bar per file, preview (dry run), column
// mapping, then the run and its progress polled from a small JSON endpoint until it ends. With "a new
// pipeline" chosen, each uploaded file links to its new-pipeline page instead.
(function () {
  "use strict";
  const app = document.getElementById("upload-app");
  if (!app) return;
  const text = JSON.parse(document.getElementById("upload-text").textContent);
  const csrf = app.querySelector("input[name=csrfmiddlewaretoken]").value;
  const chunkBytes = parseInt(app.dataset.chunkBytes, 10);
  const pipelineSelect = document.getElementById("upload-pipeline");
  const list = document.getElementById("upload-files");
  const template = document.getElementById("upload-file-template");
  const dropZone = document.getElementById("drop-zone");
  const input = document.getElementById("file-input");
  // Identifies this browser, so a file chosen again (same name, size, date) resumes its own session.
  let clientId = window.localStorage.getItem("etl-upload-client");
  if (!clientId) {
    clientId = Math.random().toString(36).slice(2) + Date.now().toString(36);
    window.localStorage.setItem("etl-upload-client", clientId);
  }
  const fmt = (template, value) => template.replace("%s", value);
  const NEW = "new";  // the pipeline choice "a new pipeline from the file" (webui/views/upload.py)

  // The units in the page's language (etlsite.formatting.byte_units: "%(size)s B", Russian "%(size)s Б").
  const unitsData = document.getElementById("upload-byte-units");
  const byteUnits = unitsData ? JSON.parse(unitsData.textContent) : ["%(size)s B", "%(size)s KB", "%(size)s MB", "%(size)s GB"];
  function humanSize(bytes) {
    let i = 0;
    while (bytes >= 1024 && i < byteUnits.length - 1) { bytes /= 1024; i += 1; }
    const number = bytes.toLocaleString(document.documentElement.lang || undefined,
                                        { maximumFractionDigits: i ? 1 : 0 });
    return byteUnits[i].replace("%(size)s", number).replace(" ", "\u00a0");
  }

  async function postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({error: response.statusText}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  }

  // One chunk through XMLHttpRequest: fetch has no upload progress events.
  function sendChunk(url, offset, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("X-Upload-Offset", String(offset));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = (event) => onProgress(offset + event.loaded);
      xhr.onload = () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {error: xhr.statusText}; }
        if (xhr.status === 200 || xhr.status === 409) resolve(data);
        else reject(new Error(data.error || xhr.statusText));
      };
      xhr.onerror = () => reject(new Error(text.network));
      xhr.send(blob);
    });
  }

  async function upload(file, item) {
    const bar = item.querySelector(".upload-progress");
    const message = item.querySelector(".file-message");
    const show = (received) => { bar.value = file.size ? Math.round(received * 100 / file.size) : 100; };
    const session = await postJSON(app.dataset.sessionUrl, {
      name: file.name, size: file.size, modified: file.lastModified, client_id: clientId,
    });
    let received = session.received;
    message.textContent = received ? fmt(text.resumed, humanSize(received)) : text.uploading;
    show(received);
    while (received < file.size) {
      const data = await sendChunk(session.chunk_url, received, file.slice(received, received + chunkBytes), show);
      received = data.received;
      show(received);
    }
    const done = await postJSON(session.finish_url);
    bar.value = 100;
    message.textContent = done.duplicate_of ? fmt(text.duplicate, done.duplicate_of.name) : text.uploaded;
    return done;
  }

  function pipelineId() {
    return pipelineSelect.value;
  }

  function failedText(response) {
    return fmt(text.failed, response.status + " " + response.statusText);
  }

  // "Process" waits while the preview says the pipeline expects columns the file lacks (the server refuses
  // such a run too): the reason stands next to the button until the mapping supplies them.
  function gate(item) {
    if (item.dataset.runStarted) return;
    const blocked = Boolean(item.querySelector(".preview .missing-columns"));
    item.querySelector(".run-button").disabled = blocked;
    item.querySelector(".run-blocked").hidden = !blocked;
  }

  // The mapping form inside a preview: saving answers with the preview again, mapping applied (or its error).
  function wireMapping(done, item) {
    const target = item.querySelector(".preview");
    const form = target.querySelector("form.mapping-form");
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      body.set("pipeline", pipelineId());
      const saved = await fetch(form.action, {method: "POST", credentials: "same-origin", body: body,
                                              headers: {"X-CSRFToken": csrf}});
      if (!saved.ok) { target.textContent = failedText(saved); return; }
      target.innerHTML = await saved.text();
      wireMapping(done, item);
      gate(item);
    });
  }

  async function preview(done, item) {
    const target = item.querySelector(".preview");
    const url = done.preview_url + "?pipeline=" + encodeURIComponent(pipelineId());
    const response = await fetch(url, {credentials: "same-origin"});
    if (!response.ok) { target.textContent = failedText(response); return; }
    target.innerHTML = await response.text();
    wireMapping(done, item);
    gate(item);
  }

  function follow(run, item) {
    const box = item.querySelector(".run");
    const bar = item.querySelector(".run-progress");
    const status = item.querySelector(".run-status");
    const link = item.querySelector(".run-link");
    box.hidden = false;
    link.href = run.detail_url;
    const poll = async () => {
      const response = await fetch(run.progress_url, {credentials: "same-origin"});
      const data = await response.json();
      bar.value = data.percent;
      status.textContent = data.step_label + " — " + fmt(text.rows, data.rows_read);
      if (data.ended) {
        item.dataset.runStatus = data.status;
        status.textContent = fmt(text.ended, data.status_label) + " " + fmt(text.rows, data.rows_read) +
          (data.error ? " — " + data.error : "");
        status.className = "run-status status-" + data.status;
        return;
      }
      window.setTimeout(poll, 1000);
    };
    poll();
  }

  async function start(done, item) {
    const message = item.querySelector(".file-message");
    const body = new FormData();
    body.set("pipeline", pipelineId());
    if (item.querySelector(".load-again-box").checked) { body.set("load_again", "1"); }
    const response = await fetch(done.run_url, {method: "POST", credentials: "same-origin", body: body,
                                                headers: {"X-CSRFToken": csrf}});
    const data = await response.json();
    if (!response.ok) { message.textContent = fmt(text.failed, data.error); return; }
    message.textContent = fmt(text.started, data.run_id);
    item.dataset.runStarted = "1";
    item.querySelector(".run-button").disabled = true;
    follow(data, item);
  }

  function add(file) {
    const item = template.content.firstElementChild.cloneNode(true);
    item.querySelector(".file-name").textContent = file.name;
    item.querySelector(".file-size").textContent = humanSize(file.size);
    list.appendChild(item);
    const creating = pipelineId() === NEW;
    upload(file, item).then((done) => {
      item.dataset.fileId = done.file_id;
      if (creating) {
        // No pipeline yet: the file's own page previews it and creates one (a plain form, then the run page).
        const link = item.querySelector(".new-pipeline-link");
        link.href = done.new_pipeline_url;
        item.querySelector(".new-pipeline-actions").hidden = false;
        item.querySelector(".file-message").textContent = text.new_ready;
        return;
      }
      item.querySelector(".file-actions").hidden = false;
      item.querySelector(".preview-button").addEventListener("click", () => preview(done, item));
      item.querySelector(".run-button").addEventListener("click", () => start(done, item));
    }).catch((error) => {
      item.classList.add("failed");
      item.querySelector(".file-message").textContent = fmt(text.failed, error.message);
    });
  }

  function addAll(files) {
    if (!pipelineId()) { window.alert(text.choose); return; }
    Array.from(files).forEach(add);
  }

  input.addEventListener("change", () => { addAll(input.files); input.value = ""; });
  dropZone.addEventListener("dragover", (event) => { event.preventDefault(); dropZone.classList.add("over"); });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    addAll(event.dataTransfer.files);
  });
})();
