// The pipeline configuration as a form (pipelines/widgets.py): JSON Editor over the JSON textarea. The textarea
// stays the field that is posted; the editor writes into it on every change. No eval, no inline style: the
// theme's rules come from static CSS, and the few places JSON Editor writes a style attribute use a class here.
(function () {
  "use strict";
  if (!window.JSONEditor) { return; }
  const Base = window.JSONEditor.defaults.themes.html;
  class CspTheme extends Base {
    constructor(editor) { super(editor, { disable_theme_rules: true }); }
    getHiddenLabel(text) { const el = document.createElement("label"); el.textContent = text; el.classList.add("je-visually-hidden"); return el; }
    getHiddenText(text) { const el = document.createElement("span"); el.textContent = text; el.classList.add("je-visually-hidden"); return el; }
    visuallyHidden(element) { if (element) { element.classList.add("je-visually-hidden"); } }
    getErrorMessage(text) {
      const el = document.createElement("p");
      el.classList.add("je-error");
      el.appendChild(document.createTextNode(text));
      return el;
    }
    addInputError(input, text) {
      const group = this.closest(input, ".form-control") || input.controlgroup;
      if (!input.errmsg) {
        input.errmsg = document.createElement("div");
        input.errmsg.className = "errmsg";
        group.appendChild(input.errmsg);
      } else {
        input.errmsg.style.display = "block";
      }
      input.errmsg.textContent = text;
      input.errmsg.setAttribute("role", "alert");
    }
    getOptInCheckbox(formname) { // the base class's, with a class instead of a style attribute
      const container = document.createElement("span");
      const label = this.getHiddenLabel(formname + " opt-in");
      label.setAttribute("for", formname + "-opt-in");
      label.textContent = formname + "-opt-in";
      const checkbox = document.createElement("input");
      checkbox.setAttribute("type", "checkbox");
      checkbox.setAttribute("id", formname + "-opt-in");
      checkbox.classList.add("json-editor-opt-in", "je-opt-in");
      container.appendChild(checkbox);
      container.appendChild(label);
      return { label: label, checkbox: checkbox, container: container };
    }
  }
  window.JSONEditor.defaults.themes.etl_csp = CspTheme;

  function parse(text) {
    try { return { value: text.trim() ? JSON.parse(text) : {} }; } catch (error) { return { error: error }; }
  }

  function start() { document.querySelectorAll(".json-schema-editor").forEach(attach); }
  // The admin loads form media in <head>: wait for the form.
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  // The editor's own words in the page's language: the table comes translated from the server
  // (pipelines/json_editor_texts.py); a key it lacks falls back to JSON Editor's English.
  function useLanguage(box) {
    const data = document.getElementById(box.dataset.texts);
    const language = box.dataset.language || "en";
    if (!data) { return; }
    const languages = window.JSONEditor.defaults.languages;
    languages[language] = Object.assign({}, languages.en, JSON.parse(data.textContent));
    window.JSONEditor.defaults.language = language;
  }

  // Compact: the sections of the configuration open, everything inside them folded (a button per block
  // opens it). Expanded, a configuration with rules and steps was several screens tall.
  function collapseBelowTop(schema) {
    function fold(node, depth) {
      if (!node || typeof node !== "object") { return; }
      const types = [].concat(node.type || []);
      if (depth >= 2 && (types.includes("object") || types.includes("array"))) {
        node.options = Object.assign({ collapsed: true }, node.options);
      }
      Object.values(node.properties || {}).forEach(function (child) { fold(child, depth + 1); });
      if (node.items) { fold(node.items, depth + 1); }
      (node.oneOf || []).forEach(function (child) { fold(child, depth); });
      if (node.additionalProperties && typeof node.additionalProperties === "object") {
        fold(node.additionalProperties, depth + 1);
      }
    }
    fold(schema, 0);
  }

  function attach(box) {
    const textarea = box.querySelector("textarea");
    const holder = box.querySelector(".json-editor-holder");
    const toggle = box.querySelector(".json-editor-toggle");
    const schema = JSON.parse(document.getElementById(box.dataset.schema).textContent);
    const start = parse(textarea.value);
    if (start.error || typeof start.value !== "object" || Array.isArray(start.value) || start.value === null) {
      return; // not an object: leave the text for the person (and the server's message) to fix
    }
    useLanguage(box);
    collapseBelowTop(schema);
    const editor = new window.JSONEditor(holder, {
      schema: schema, startval: start.value, theme: "etl_csp", iconlib: null, show_errors: "interaction",
      display_required_only: true, disable_edit_json: true, disable_array_delete_all_rows: true,
      disable_array_delete_last_row: true, prompt_before_delete: false, keep_oneof_values: false,
      use_default_values: true, // false loses numbers of additionalProperties (json-editor 2.17.2)
      no_additional_properties: false,
    });
    let asForm = true;
    function show() {
      holder.hidden = !asForm;
      textarea.hidden = asForm;
      toggle.textContent = asForm ? toggle.dataset.textLabel : toggle.dataset.formLabel;
    }
    editor.on("ready", function () {
      box.querySelector(".json-editor-switch").hidden = false;
      show();
      editor.on("change", function () {
        if (asForm) { textarea.value = JSON.stringify(editor.getValue(), null, 2); }
      });
    });
    toggle.addEventListener("click", function () {
      if (!asForm) {
        const typed = parse(textarea.value);
        if (typed.error) { return; } // keep the text: the server will say what is wrong
        editor.setValue(typed.value);
      }
      asForm = !asForm;
      show();
    });
  }
})();
