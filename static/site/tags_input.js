// Tags as chips (pipelines/widgets.py TagsInput): the comma-separated text input stays the posted field and is
// rewritten on every change; the person types into a small input beside the chips. Enter or a comma adds the
// typed tag, × (or Backspace in the empty input) removes one, the tags already in use are suggested through
// the <datalist> the server rendered. No inline style or script: the page's Content-Security-Policy holds.
(function () {
  "use strict";

  function start() { document.querySelectorAll("input.tags-input").forEach(attach); }
  // The admin loads form media in <head>: wait for the form.
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }

  function split(text) { return text.split(",").map(function (tag) { return tag.trim(); }).filter(Boolean); }

  function attach(field) {
    const wrapper = field.closest(".tags-field");
    if (!wrapper || wrapper.dataset.ready) { return; }
    wrapper.dataset.ready = "1";
    const suggestions = wrapper.querySelector("datalist");
    const known = suggestions ? Array.from(suggestions.options).map(function (option) { return option.value; }) : [];
    let tags = [];
    split(field.value).forEach(function (tag) { if (!tags.includes(tag)) { tags.push(tag); } });

    const box = document.createElement("div");
    box.className = "tag-box";
    const chips = document.createElement("ul");
    chips.className = "tag-chips";
    const typing = document.createElement("input");
    typing.type = "text";
    typing.className = "tag-typing";
    typing.id = field.id + "-typing";
    typing.autocomplete = "off";
    typing.placeholder = wrapper.dataset.placeholder || "";
    if (suggestions) { typing.setAttribute("list", suggestions.id); }
    box.appendChild(chips);
    box.appendChild(typing);
    wrapper.insertBefore(box, field);
    field.hidden = true;
    const label = document.querySelector('label[for="' + field.id + '"]');
    if (label) { label.htmlFor = typing.id; }
    const describedBy = field.getAttribute("aria-describedby");
    if (describedBy) { typing.setAttribute("aria-describedby", describedBy); }

    function sync() {
      field.value = tags.join(", ");
      chips.replaceChildren();
      tags.forEach(function (tag) {
        const chip = document.createElement("li");
        chip.className = "tag-chip";
        const text = document.createElement("span");
        text.textContent = tag;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "tag-remove";
        remove.textContent = "\u00d7";
        remove.setAttribute("aria-label", (wrapper.dataset.removeLabel || "Remove") + ": " + tag);
        remove.addEventListener("click", function () { drop(tag); typing.focus(); });
        chip.appendChild(text);
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      if (suggestions) { // offer only the tags not chosen yet
        suggestions.replaceChildren();
        known.filter(function (tag) { return !tags.includes(tag); }).forEach(function (tag) {
          const option = document.createElement("option");
          option.value = tag;
          suggestions.appendChild(option);
        });
      }
    }
    function add(text) {
      split(text).forEach(function (tag) { if (!tags.includes(tag)) { tags.push(tag); } });
      typing.value = "";
      sync();
    }
    function drop(tag) { tags = tags.filter(function (other) { return other !== tag; }); sync(); }

    typing.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault(); // Enter adds the tag, it does not submit the form
        add(typing.value);
      } else if (event.key === "Backspace" && !typing.value && tags.length) {
        drop(tags[tags.length - 1]);
      }
    });
    typing.addEventListener("input", function (event) {
      // a suggestion picked from the list arrives whole, without a key press: it is a tag
      if (event.inputType === "insertReplacementText" || (!event.inputType && known.includes(typing.value))) {
        add(typing.value);
      } else if (typing.value.includes(",")) {
        add(typing.value); // pasted "a, b"
      }
    });
    typing.addEventListener("blur", function () { if (typing.value.trim()) { add(typing.value); } });
    box.addEventListener("click", function (event) { if (event.target === box) { typing.focus(); } });
    sync();
  }
})();
