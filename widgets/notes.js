// VIG Workbench notes panel (anywidget front end): the recording's comments and moments, beside the table.
//
// Comments (time, author, status, text) and moments (span, title, reason) are listed in time order; a
// click on one seeks the player of the same review (a `wb-seek` event, as the table sends) and tells
// Python. A moment's title and reason are edited in place: Enter or leaving the field sends the edit to
// Python, which stores it (with the row's version, so that someone else's newer edit is not
// overwritten) and sends the rows back. This module never writes anything itself.

import { fmt, el } from "./shared.js";

function render({ model, el: root }) {
  const box = el("div", { class: "wb-notes", "data-wb": "notes", "data-lm-suppress-shortcuts": "" });
  const tabs = el("div", { class: "wb-notes-tabs", role: "tablist" });
  const commentsTab = el("button", { class: "wb-tab", "data-wb": "comments-tab", role: "tab" });
  const momentsTab = el("button", { class: "wb-tab", "data-wb": "moments-tab", role: "tab" });
  tabs.append(commentsTab, momentsTab);
  const comments = el("ol", { class: "wb-note-list", "data-wb": "comment-list" });
  const moments = el("ol", { class: "wb-note-list", "data-wb": "moment-list" });
  box.append(tabs, comments, moments);
  root.append(box);

  let showing = "comments";
  function show(which) {
    showing = which;
    comments.hidden = which !== "comments";
    moments.hidden = which !== "moments";
    commentsTab.classList.toggle("wb-on", which === "comments");
    momentsTab.classList.toggle("wb-on", which === "moments");
    commentsTab.setAttribute("aria-selected", String(which === "comments"));
    momentsTab.setAttribute("aria-selected", String(which === "moments"));
  }
  commentsTab.addEventListener("click", () => show("comments"));
  momentsTab.addEventListener("click", () => show("moments"));

  function seek(ms, kind, id) {
    const ev = new CustomEvent("wb-seek", { bubbles: true, detail: { ms, handled: false } });
    box.dispatchEvent(ev);
    model.send({ type: "seek", ms, kind, id, local: ev.detail.handled });
  }

  function drawComments() {
    const rows = [...(model.get("comments") || [])].sort((a, b) => a.time_ms - b.time_ms || a.id - b.id);
    commentsTab.textContent = `Comments (${rows.length})`;
    if (!rows.length) {
      comments.replaceChildren(el("li", { class: "wb-note-empty" }, "No comments yet: type one under the video and press Enter."));
      return;
    }
    comments.replaceChildren(
      ...rows.map((c) => {
        const li = el("li", { class: "wb-note", "data-wb": "comment", "data-id": String(c.id), title: "show this moment of the video" });
        const head = el("div", { class: "wb-note-head" });
        head.append(
          el("span", { class: "wb-note-time" }, fmt(c.time_ms)),
          el("span", { class: `wb-status wb-status-${c.status}`, "data-wb": "comment-status-label" }, c.status),
          el("span", { class: "wb-note-author" }, c.author || "")
        );
        li.append(head, el("div", { class: "wb-note-text" }, c.text));
        li.addEventListener("click", () => seek(c.time_ms, "comment", c.id));
        return li;
      })
    );
  }

  let drawing = 0; // which drawing of the moments list is current: the fields of an older one send nothing

  function field(m, key, placeholder, multiline) {
    const stored = m[key] || "";
    const input = el(multiline ? "textarea" : "input", {
      class: `wb-moment-${key}`,
      "data-wb": `moment-${key}`,
      "data-stored": stored,
      placeholder,
      rows: "2",
    });
    input.value = stored;
    input.addEventListener("click", (e) => e.stopPropagation());
    input.addEventListener("keydown", (e) => {
      e.stopPropagation(); // typing here never codes nor reaches Jupyter's shortcuts
      if (e.key === "Enter" && !(multiline && e.shiftKey)) {
        e.preventDefault();
        input.blur();
      }
      if (e.key === "Escape") {
        input.value = stored;
        input.blur();
      }
    });
    // Stored when the field is left (Enter leaves it). A field the list has been drawn again without (the browser
    // blurs a removed field) sends nothing: its row's version is old, and what was typed in it lives on in the
    // new drawing (drawMoments).
    const mine = drawing;
    input.addEventListener("blur", () => {
      const value = input.value.trim();
      if (mine === drawing && value !== stored) model.send({ type: "edit-moment", id: m.id, version: m.version, field: key, value });
    });
    return input;
  }

  function drawMoments() {
    const rows = [...(model.get("moments") || [])].sort((a, b) => a.onset_ms - b.onset_ms || a.id - b.id);
    momentsTab.textContent = `Moments (${rows.length})`;
    // the field being typed in (a title or reason edit of this list may come back meanwhile, and redraw it)
    const focused = document.activeElement;
    const editing = focused && moments.contains(focused) ? [focused.closest("[data-id]")?.dataset.id, focused.dataset.wb] : null;
    const typing = editing && focused.matches("input, textarea")
      ? { value: focused.value, stored: focused.dataset.stored, start: focused.selectionStart, end: focused.selectionEnd }
      : null;
    drawing++;
    if (!rows.length) {
      moments.replaceChildren(el("li", { class: "wb-note-empty" }, "No moments yet: press [ where one starts and ] where it ends."));
      return;
    }
    moments.replaceChildren(
      ...rows.map((m) => {
        const li = el("li", { class: "wb-note", "data-wb": "moment", "data-id": String(m.id) });
        const head = el("div", { class: "wb-note-head" });
        const time = el("button", { class: "wb-note-time wb-linkish", title: "show this moment of the video" }, `${fmt(m.onset_ms)}–${fmt(m.offset_ms)}`);
        time.addEventListener("click", (e) => {
          e.stopPropagation();
          seek(m.onset_ms, "moment", m.id);
        });
        const loop = el("button", { class: "wb-btn wb-small", "data-wb": "moment-loop", title: "play this moment in a loop" }, "⟲ loop");
        loop.addEventListener("click", (e) => {
          e.stopPropagation();
          model.send({ type: "loop-moment", id: m.id });
        });
        head.append(time, loop);
        li.append(head, field(m, "title", "title of the moment", false), field(m, "reason", "why it is a moment better than usual", true));
        return li;
      })
    );
    if (editing) {
      const again = moments.querySelector(`[data-id="${editing[0]}"] [data-wb="${editing[1]}"]`);
      if (again && typing && again.dataset.stored === typing.stored) {
        // nobody changed this field meanwhile: what was typed stays, to be stored with the row's new version
        again.value = typing.value;
        again.setSelectionRange(typing.start, typing.end);
      }
      if (again) again.focus();
    }
  }

  model.on("change:comments", drawComments);
  model.on("change:moments", drawMoments);
  model.on("change:show", () => show(model.get("show") || "comments"));
  drawComments();
  drawMoments();
  show(model.get("show") || showing);
}

export default { render };
