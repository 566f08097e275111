// VIG Workbench live chart (anywidget front end): a Vega-Lite chart that fits its container, takes new
// data without being embedded again, and follows the video.
//
// Vega, Vega-Lite and Vega-Embed come as the trait `_vega` (vl-convert's bundle, built by
// workbench/ui/bundle.py; its default export is Vega-Embed), imported once per page and shared by every chart
// of the page (keyed by `_vega_key`): this module stays small, so that anywidget loads it within its two-second
// limit. Vega-Embed compiles the Vega-Lite spec, and the view's own methods make changesets (vl-convert's bundle
// gives no `vega` namespace).
//
// Conventions of the specs it shows (built in workbench/charts.py):
// - datasets are named (`{"data": {"name": "bars"}}`); their rows are the trait `_base` (a snapshot) with the
//   trait `_patch` applied: for a dataset named in the trait `row_keys` (name -> the field that identifies a row),
//   the rows upserted and the keys removed since the snapshot; for any other, all its rows. Only the rows
//   that differ from what the view holds are removed and inserted (Vega redraws only what depends on them);
// - the views are `width: "container"`. This widget owns the width: it measures its element and sets
//   Vega's `width` signal itself (Vega-Lite's own handler, which listens to window resizes only, is
//   removed), so that the chart follows its container whenever it changes size;
// - a parameter `playhead` (ms) follows the trait `playhead_ms` and the `wb-time` events of the video
//   player of the same review;
// - a parameter `zoom` ([from, to] in seconds, or null) is set by dragging across the view named
//   `overview`; a click on the overview sets it back to null (the whole recording);
// - a click on a mark whose datum has a numeric `onset_ms` seeks the player of the same review (a
//   `wb-seek` event) and tells Python (`{type: "pick", ...}`).
//
// Why not Vega-Lite's interval selection for the overview's brush: while such a brush is empty, any
// change of its scale (a new width) makes its scale trigger read `span_at[0]` of undefined; the error
// stops Vega's update half-way, leaving bars at one x position and the axis without ticks.

const DRAG_PX = 3; // a pointer moved less than this between down and up is a click, not a brush

// Vega-Embed from the bundle the model carries, imported once per page and bundle
function loadVegaEmbed(model) {
  const key = model.get("_vega_key");
  const loaded = (globalThis.__vigWorkbenchVega ||= new Map());
  if (!loaded.has(key)) {
    const url = URL.createObjectURL(new Blob([model.get("_vega")], { type: "text/javascript" }));
    loaded.set(
      key,
      import(/* webpackIgnore: true */ url).then(
        (mod) => {
          URL.revokeObjectURL(url);
          return mod.default;
        },
        (error) => {
          loaded.delete(key); // the next chart tries again
          throw error;
        }
      )
    );
  }
  return loaded.get(key);
}

function sameReview(a, b) {
  const ra = a instanceof Element ? a.closest(".wb-review") : null;
  return ra !== null && b instanceof Element && b.closest(".wb-review") === ra;
}

function hasSignal(spec, name) {
  return (spec.signals || []).some((s) => s.name === name);
}

// The rows of each dataset: the snapshot with the patch applied (keyed datasets as Maps key -> row).
function currentRows(model) {
  const keys = model.get("row_keys") || {};
  const base = model.get("_base") || {};
  const patch = model.get("_patch") || {};
  const out = {};
  for (const name of new Set([...Object.keys(base), ...Object.keys(patch)])) {
    const p = patch[name] || {};
    const key = keys[name];
    if (!key) {
      out[name] = p.rows || base[name] || [];
      continue;
    }
    const rows = new Map((base[name] || []).map((r) => [r[key], r]));
    for (const r of p.upsert || []) rows.set(r[key], r);
    for (const k of p.remove || []) rows.delete(k);
    out[name] = rows;
  }
  return out;
}

const asArray = (rows) => (rows instanceof Map ? [...rows.values()] : rows);
const same = (a, b) => a === b || (a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b));

function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "wb-chart";
  box.setAttribute("data-wb", model.get("hook") || "chart");
  box.setAttribute("data-state", "embedding");
  el.append(box);

  let view = null;
  let finalize = null;
  let compiled = null; // the Vega spec shown
  let generation = 0; // which embedding is current (a new spec while one embeds supersedes it)
  let chrome = 0; // pixels of the chart beside its width signal (axis labels, padding)
  let shown = {}; // dataset name -> the rows the view holds (a Map key -> row for keyed datasets)

  const available = () => Math.floor(el.getBoundingClientRect().width);

  async function fit() {
    // set the width signal so that the whole chart (plot + axes) is as wide as the element
    if (!view || !hasSignal(compiled, "width")) return;
    const want = available();
    if (want <= 0) return; // not laid out (hidden): the resize observer calls again when it is
    for (let i = 0; i < 2; i++) {
      const target = Math.max(40, want - chrome);
      if (view.signal("width") === target) break;
      view.signal("width", target);
      await view.runAsync();
      const svg = box.querySelector("svg");
      const total = svg ? Number(svg.getAttribute("width")) : target + chrome;
      chrome = Math.max(0, total - target);
    }
    box.setAttribute("data-width", String(view.signal("width")));
  }

  async function embed() {
    const mine = ++generation;
    box.setAttribute("data-state", "embedding");
    const spec = structuredClone(model.get("spec") || {});
    if (!spec || !Object.keys(spec).length) return;
    const rows = currentRows(model);
    spec.datasets = { ...(spec.datasets || {}) };
    for (const [name, part] of Object.entries(rows)) spec.datasets[name] = asArray(part);
    chrome = Number(model.get("chrome_px")) || 0;
    const start = Math.max(40, (available() || 800) - chrome);
    const playhead = model.get("playhead_ms");
    let vg = null;
    // the compiled Vega spec, changed before Vega reads it: the width is ours (a plain signal that fit() sets,
    // instead of Vega-Lite's containerSize() on window resizes), the playhead starts where the video is
    const patch = (compiled) => {
      compiled.signals = (compiled.signals || []).map((s) =>
        s.name === "width" ? { name: "width", value: start } : s.name === "playhead" ? { ...s, value: playhead } : s
      );
      if (compiled.autosize && typeof compiled.autosize === "object" && compiled.autosize.type === "fit-x") {
        compiled.autosize = { ...compiled.autosize, type: "pad" };
      }
      vg = compiled;
      return compiled;
    };
    let result;
    try {
      const vegaEmbed = await loadVegaEmbed(model);
      if (mine !== generation) return;
      result = await vegaEmbed(box, spec, { mode: "vega-lite", actions: false, renderer: "svg", patch });
    } catch (error) {
      box.setAttribute("data-state", "error");
      box.textContent = `The chart could not be drawn: ${error.message}`;
      return;
    }
    if (mine !== generation) {
      result.finalize();
      return;
    }
    if (finalize) finalize();
    finalize = result.finalize;
    view = result.view;
    compiled = vg;
    shown = rows;
    view.addEventListener("click", onClick);
    await view.runAsync();
    const svg = box.querySelector("svg");
    if (svg) chrome = Math.max(0, Number(svg.getAttribute("width")) - start);
    await fit();
    await updateData(); // rows that changed while the chart was being drawn
    box.setAttribute("data-state", "ready");
  }

  async function updateData() {
    if (!view) return;
    const keys = model.get("row_keys") || {};
    let changed = false;
    for (const [name, want] of Object.entries(currentRows(model))) {
      const have = shown[name];
      if (have === want) continue;
      try {
        view.data(name); // throws for a name the spec does not have
      } catch (e) {
        continue;
      }
      const key = keys[name];
      if (!(want instanceof Map) || !(have instanceof Map)) {
        view.change(name, view.changeset().remove(() => true).insert(asArray(want)));
      } else {
        // the rows that differ: the same objects are the same rows; rows of a patch come anew with every patch
        const gone = new Set();
        const insert = [];
        for (const [k, row] of want) {
          const old = have.get(k);
          if (!same(old, row)) {
            if (old !== undefined) gone.add(k);
            insert.push(row);
          }
        }
        for (const k of have.keys()) if (!want.has(k)) gone.add(k);
        if (!gone.size && !insert.length) {
          shown[name] = want;
          continue;
        }
        view.change(name, view.changeset().remove((t) => gone.has(t[key])).insert(insert));
      }
      shown[name] = want;
      changed = true;
    }
    if (changed) await view.runAsync();
  }

  function setPlayhead(ms) {
    if (!view || !hasSignal(compiled, "playhead") || view.signal("playhead") === ms) return;
    view.signal("playhead", ms);
    view.runAsync();
  }

  function onClick(event, item) {
    if (brushed) return; // the end of a brush on the overview, not a click on a mark
    const d = item && item.datum;
    if (!d || typeof d.onset_ms !== "number") return;
    const seek = new CustomEvent("wb-seek", { bubbles: true, detail: { ms: d.onset_ms, handled: false } });
    box.dispatchEvent(seek);
    model.send({ type: "pick", id: d.id ?? null, ms: d.onset_ms, kind: d.mark_kind ?? null, local: seek.detail.handled });
  }

  // -- the overview's brush -------------------------------------------------------------------------------
  let brushed = false;
  function overviewArea() {
    const bg = box.querySelector(".overview_group path.background");
    return bg ? bg.getBoundingClientRect() : null;
  }
  function timeAt(clientX, area) {
    const scale = view.scale("overview_x");
    const [lo, hi] = scale.domain();
    const t = scale.invert(Math.min(area.width, Math.max(0, clientX - area.left)));
    return Math.min(hi, Math.max(lo, t));
  }
  box.addEventListener("pointerdown", (e) => {
    brushed = false;
    if (!view || !hasSignal(compiled, "zoom") || e.button !== 0) return;
    const area = overviewArea();
    if (!area || e.clientY < area.top || e.clientY > area.bottom || e.clientX < area.left || e.clientX > area.right) {
      return;
    }
    e.preventDefault();
    const x0 = e.clientX;
    const t0 = timeAt(x0, area);
    const move = (m) => {
      if (Math.abs(m.clientX - x0) < DRAG_PX) return;
      brushed = true;
      const t1 = timeAt(m.clientX, area);
      view.signal("zoom", [Math.min(t0, t1), Math.max(t0, t1)]);
      view.runAsync();
    };
    const up = (u) => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      if (Math.abs(u.clientX - x0) < DRAG_PX) {
        brushed = true; // a click on the strip: the whole recording again, and no seek
        view.signal("zoom", null);
        view.runAsync();
      }
      setTimeout(() => (brushed = false), 0);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
  });

  // -- the playhead follows the player of the same review, in the browser ----------------------------------
  const onTime = (e) => {
    if (e.detail && typeof e.detail.ms === "number" && sameReview(el, e.target)) setPlayhead(e.detail.ms);
  };
  document.addEventListener("wb-time", onTime);

  const resize = new ResizeObserver(() => fit());
  resize.observe(el);

  model.on("change:spec", embed);
  model.on("change:_base", updateData);
  model.on("change:_patch", updateData);
  model.on("change:row_keys", updateData);
  model.on("change:playhead_ms", () => setPlayhead(model.get("playhead_ms")));
  embed();

  return () => {
    generation++;
    resize.disconnect();
    document.removeEventListener("wb-time", onTime);
    if (finalize) finalize();
  };
}

export default { render };
