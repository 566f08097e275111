// VIG Workbench annotation table (anywidget front end).
//
// Shows the rows Python gives it, lights up the rows under the playhead (trait `current_ms`),
// and sends every user action to Python as a message: seek, edit, delete, undo, redo. It never
// writes anything itself: the Python controller stores the edit and sends the new rows back.
//
// The rows arrive as a snapshot (trait `_base`) plus the changes since it (trait `_patch`:
// rows added or changed, ids removed), so that an edit sends a few rows, not thousands.
// Long tables put only the rows in view (and a margin) in the DOM. The filters chosen are the trait `filters`
// (field -> value), so that Python knows them and a view drawn again keeps them; `selected` is the id of the
// row last clicked (on the table or on the timeline).

import { fmt, parseTime, el, TIME_HELP } from "./shared.js";

const COLUMNS = [
  { key: "disagree", label: "≠", title: "≠: the two coders disagree here (another code, or nothing within the tolerance)" },
  { key: "onset_ms", label: "onset", edit: "time" },
  { key: "offset_ms", label: "offset", edit: "time" },
  { key: "actor", label: "actor", edit: "actor" },
  { key: "code", label: "code", edit: "code" },
  { key: "category", label: "principle" },
  { key: "coder", label: "coder" },
  { key: "note", label: "note", edit: "text" },
];
// the filters: which column, what the "all" option says, and how a value is shown (codes by their label)
const FILTERS = [
  { key: "actor", all: "all actors" },
  { key: "code", all: "all codes", text: (r) => r.label || r.code },
  { key: "category", all: "all principles" },
  { key: "coder", all: "all coders" },
];
const POINT_HIGHLIGHT_MS = 400;
const ALL_IN_DOM = 300; // up to this many rows are all in the DOM; beyond, only those in view
const MARGIN_ROWS = 40; // rows kept in the DOM above and below the visible ones

function render({ model, el: root }) {
  const box = el("div", { class: "wb-table", "data-wb": "annotation-table", "data-lm-suppress-shortcuts": "" });
  const tools = el("div", { class: "wb-table-tools" });
  const selects = {};
  for (const f of FILTERS) {
    const s = el("select", { "data-wb": `filter-${f.key}`, title: `show only one ${f.key === "category" ? "principle" : f.key}` });
    s.addEventListener("change", () => {
      const chosen = {};
      for (const g of FILTERS) if (selects[g.key].value) chosen[g.key] = selects[g.key].value;
      model.set("filters", chosen); // draws the table (change:filters)
      model.save_changes();
    });
    selects[f.key] = s;
    tools.append(s);
  }
  const undo = el("button", { class: "wb-btn", "data-wb": "undo", title: "undo the last delete or edit" }, "↶ undo");
  undo.addEventListener("click", () => model.send({ type: "undo" }));
  const redo = el("button", { class: "wb-btn", "data-wb": "redo", title: "redo what was undone" }, "↷");
  redo.addEventListener("click", () => model.send({ type: "redo" }));
  const status = el("span", { class: "wb-table-status", "data-wb": "table-status" });
  tools.append(undo, redo, status);
  const scroller = el("div", { class: "wb-table-scroll" });
  const table = el("table");
  const thead = el("thead");
  const tbody = el("tbody");
  table.append(thead, tbody);
  scroller.append(table);
  box.append(tools, scroller);
  root.append(box);

  let sortKey = "onset_ms";
  let sortDir = 1;
  let trs = new Map(); // id -> {tr, row}, the rows in the DOM
  let lastActive = "";
  let view = []; // the rows shown (filtered, sorted)
  let base = new Map(); // id -> row, the snapshot `_base`
  let rowHeight = 21; // measured once rows are in the DOM
  let measured = false;
  let windowed = [-1, -1]; // [first, end) of view in the DOM

  function loadBase() {
    base = new Map((model.get("_base") || []).map((r) => [r.id, r]));
  }

  function allRows() {
    const patch = model.get("_patch") || {};
    const upsert = patch.upsert || [];
    const remove = patch.remove || [];
    if (!upsert.length && !remove.length) return [...base.values()];
    const rows = new Map(base);
    for (const r of upsert) rows.set(r.id, r);
    for (const id of remove) rows.delete(id);
    return [...rows.values()];
  }

  // columns shown: the coder and disagreement columns in supervision only; the note column is narrow
  // while no row has a note (a double-click on its cell still writes one)
  let columns = COLUMNS;
  function chooseColumns(rows) {
    const supervision = model.get("mode") === "supervision";
    table.classList.toggle("wb-no-notes", !rows.some((r) => r.note));
    columns = COLUMNS.filter((c) => (c.key !== "coder" && c.key !== "disagree") || supervision);
    const keys = columns.map((c) => c.key).join(",");
    if (keys !== thead.dataset.keys) drawHead(keys);
  }

  function drawHead(keys) {
    thead.dataset.keys = keys;
    const headRow = el("tr");
    for (const c of columns) {
      const th = el("th", { "data-key": c.key, title: c.title || `sort by ${c.label}` }, c.label);
      th.addEventListener("click", () => {
        sortDir = sortKey === c.key ? -sortDir : 1;
        sortKey = c.key;
        draw();
      });
      headRow.append(th);
    }
    headRow.append(el("th", { "data-key": "delete" }, ""));
    thead.replaceChildren(headRow);
  }

  function fillFilters(rows) {
    for (const f of FILTERS) {
      const s = selects[f.key];
      s.hidden = f.key === "coder" && model.get("mode") !== "supervision";
      const keep = (model.get("filters") || {})[f.key] || ""; // the trait is what is chosen (the select sets it)
      const shown = new Map(); // value -> text
      for (const r of rows) if (!shown.has(r[f.key])) shown.set(r[f.key], f.text ? f.text(r) : r[f.key]);
      const values = [...shown.keys()].sort((a, b) => String(shown.get(a)).localeCompare(String(shown.get(b))));
      s.replaceChildren(el("option", { value: "" }, f.all));
      for (const v of values) s.append(el("option", { value: v }, shown.get(v) || "(none)"));
      s.value = values.includes(keep) ? keep : "";
    }
  }

  function startEdit(td, row, col) {
    if (td.querySelector("input,select")) return;
    let input;
    if (col.edit === "code" || col.edit === "actor") {
      input = el("select");
      const options = col.edit === "code" ? model.get("codes") || [] : model.get("actors") || [];
      for (const o of options) {
        const value = typeof o === "string" ? o : o.key;
        const label = typeof o === "string" ? o : o.label;
        input.append(el("option", { value }, label));
      }
      input.value = row[col.key];
    } else {
      input = col.edit === "time"
        ? el("input", { value: fmt(row[col.key]), title: `${TIME_HELP}; Enter stores it, Escape cancels` })
        : el("input", { value: row[col.key] || "" });
    }
    input.setAttribute("data-wb", "cell-editor");
    td.replaceChildren(input);
    input.focus();
    const commit = () => {
      let value = input.value;
      if (col.edit === "time") {
        value = parseTime(value);
        if (value === null) return draw();
      }
      if (value !== row[col.key]) {
        model.send({ type: "edit", id: row.id, version: row.version, field: col.key, value });
      } else draw();
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") commit();
      if (e.key === "Escape") draw();
    });
    input.addEventListener("change", () => col.edit !== "time" && col.edit !== "text" && commit());
    input.addEventListener("blur", () => setTimeout(() => td.isConnected && td.querySelector("input,select") && draw(), 150));
  }

  function draw() {
    const all = allRows();
    chooseColumns(all);
    fillFilters(all);
    const rows = all.filter((r) => FILTERS.every((f) => !selects[f.key].value || r[f.key] === selects[f.key].value));
    rows.sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      return (x < y ? -1 : x > y ? 1 : a.id - b.id) * sortDir;
    });
    for (const th of thead.querySelectorAll("th")) {
      th.classList.toggle("wb-sorted", th.dataset.key === sortKey);
      th.dataset.dir = sortDir > 0 ? "asc" : "desc";
    }
    view = rows;
    status.textContent = `${rows.length} of ${all.length} annotations`;
    lastActive = "";
    renderWindow(true);
    highlight();
  }

  function spacer(height) {
    const tr = el("tr", { class: "wb-spacer", "aria-hidden": "true" });
    const td = el("td", { colspan: String(columns.length + 1) });
    td.style.cssText = `height:${height}px;padding:0;border:0`;
    tr.append(td);
    return tr;
  }

  // the part of `view` to put in the DOM: all of it for short tables, else what is in view and a margin
  function windowAround(top) {
    if (view.length <= ALL_IN_DOM) return [0, view.length];
    const y = Math.max(0, top - thead.offsetHeight);
    const first = Math.max(0, Math.floor(y / rowHeight) - MARGIN_ROWS);
    const end = Math.min(view.length, Math.ceil((y + (scroller.clientHeight || 360)) / rowHeight) + MARGIN_ROWS);
    return [first, end];
  }

  function renderWindow(force) {
    const [first, end] = windowAround(scroller.scrollTop);
    if (!force && first === windowed[0] && end === windowed[1]) return;
    windowed = [first, end];
    trs = new Map();
    const frag = document.createDocumentFragment();
    if (first > 0) frag.append(spacer(first * rowHeight));
    for (let i = first; i < end; i++) frag.append(makeRow(view[i]));
    if (end < view.length) frag.append(spacer((view.length - end) * rowHeight));
    tbody.replaceChildren(frag);
    if (!measured && trs.size) {
      const h = trs.values().next().value.tr.offsetHeight;
      if (h > 0) {
        measured = true;
        if (Math.abs(h - rowHeight) > 0.5 && view.length > ALL_IN_DOM) {
          rowHeight = h;
          return renderWindow(true);
        }
        rowHeight = h;
      }
    }
    paintActive();
  }

  let scrollPending = false;
  scroller.addEventListener("scroll", () => {
    if (view.length <= ALL_IN_DOM || scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      renderWindow(false);
    });
  });

  function makeRow(r) {
    const tr = el("tr", { "data-wb": "annotation-row", "data-id": String(r.id) });
    if (r.disagree) {
      tr.classList.add("wb-disagree");
      tr.title = "The two coders disagree here: another code, or nothing within the tolerance.";
    }
    for (const c of columns) {
      const v = r[c.key];
      let text = c.edit === "time" ? fmt(v) : c.key === "code" ? r.label || v : v;
      if (c.key === "disagree") text = r.disagree ? "≠" : "";
      const td = el("td", { "data-col": c.key, title: c.key === "code" ? `${text} (${v})` : String(text ?? "") });
      // codes and principles may take two lines (a clamped block inside the cell: the cell stays a table cell)
      if (c.key === "code" || c.key === "category") td.append(el("div", { class: "wb-clamp" }, text ?? ""));
      else td.textContent = text ?? "";
      if (c.key === "code") td.style.borderLeft = `6px solid ${r.colour || "#999"}`;
      if (c.edit) td.addEventListener("dblclick", (e) => {
        e.stopPropagation();
        startEdit(td, r, c);
      });
      tr.append(td);
    }
    const del = el("button", { class: "wb-btn wb-del", "data-wb": "delete", title: "delete (undo brings it back)" }, "✕");
    del.addEventListener("click", (e) => {
      e.stopPropagation();
      model.send({ type: "delete", id: r.id, version: r.version });
    });
    const td = el("td");
    td.append(del);
    tr.append(td);
    tr.addEventListener("click", () => {
      // the player of the same review seeks at once (no round trip through the kernel); Python hears of it
      const seek = new CustomEvent("wb-seek", { bubbles: true, detail: { ms: r.onset_ms, handled: false } });
      root.dispatchEvent(seek);
      model.send({ type: "seek", id: r.id, ms: r.onset_ms, local: seek.detail.handled });
    });
    trs.set(r.id, { tr, row: r });
    return tr;
  }

  let active = new Set();

  function paintActive() {
    const selected = model.get("selected");
    for (const [id, { tr }] of trs) {
      tr.classList.toggle("wb-active", active.has(id));
      tr.classList.toggle("wb-selected", id === selected);
    }
  }

  function highlight() {
    const t = model.get("current_ms");
    active = new Set();
    let firstActive = -1;
    for (let i = 0; i < view.length; i++) {
      const row = view[i];
      const end = Math.max(row.offset_ms, row.onset_ms + POINT_HIGHLIGHT_MS);
      if (row.onset_ms <= t && t <= end) {
        active.add(row.id);
        if (firstActive < 0) firstActive = i;
      }
    }
    const key = [...active].join(",");
    if (key && key !== lastActive) {
      const shown = trs.get(view[firstActive].id);
      const top = shown ? shown.tr.offsetTop : thead.offsetHeight + firstActive * rowHeight;
      if (top < scroller.scrollTop || top > scroller.scrollTop + scroller.clientHeight - rowHeight) {
        scroller.scrollTop = Math.max(0, top - scroller.clientHeight / 3);
        renderWindow(false);
      }
    }
    lastActive = key;
    paintActive();
  }

  // `_base` and `_patch` often change together: draw once for both
  let drawPending = false;
  function drawSoon() {
    if (drawPending) return;
    drawPending = true;
    queueMicrotask(() => {
      drawPending = false;
      draw();
    });
  }
  model.on("change:_base", () => {
    loadBase();
    drawSoon();
  });
  model.on("change:_patch", drawSoon);
  model.on("change:current_ms", highlight);
  model.on("change:mode", draw);
  model.on("change:filters", draw);
  model.on("change:selected", paintActive);
  loadBase();
  draw();
}

export default { render };
