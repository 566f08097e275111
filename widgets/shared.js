// VIG Workbench: what every widget's front end uses, written once.
//
// A widget imports these names (`import { fmt, parseTime, el } from "./shared.js";`). anywidget loads each
// widget as one module from a string, so the Python side puts this module in place of that import when it
// loads the widget (workbench/ui/widgets.py, widget_esm): keep this file free of imports.

// How a person may type a time, said wherever one is typed (the table's time cells, the player's jump box).
export const TIME_HELP =
  "a time: 12 or 12.5 (seconds), 1:05 or 1:05.250 (minutes:seconds), 1:02:03 (hours), or 1234ms";

// A time in ms as the review writes it: mm:ss.mmm, h:mm:ss.mmm from an hour on (as Python's
// workbench.charts.clock writes it).
export function fmt(ms) {
  const sign = ms < 0 ? "-" : "";
  ms = Math.abs(Math.round(ms));
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const head = h ? `${h}:${String(m).padStart(2, "0")}` : String(m).padStart(2, "0");
  return `${sign}${head}:${String(s).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
}

// A time a person typed, in ms, or null if it is not one (see TIME_HELP). A bare number is seconds, as a
// person says a time ("12" is 12 s); minutes:seconds and hours:minutes:seconds as fmt writes them; "1234ms"
// in milliseconds. Seconds (and minutes after hours) must be under 60; nothing is negative.
export function parseTime(text) {
  const t = String(text ?? "").trim();
  let m = /^(\d+(?:\.\d+)?)\s*ms$/.exec(t);
  if (m) return Math.round(Number(m[1]));
  if (/^\d+(?:\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  m = /^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(t);
  if (!m) return null;
  const [hours, minutes, seconds] = [Number(m[1] || 0), Number(m[2]), Number(m[3])];
  if (seconds >= 60 || (m[1] !== undefined && minutes >= 60)) return null;
  return Math.round(((hours * 60 + minutes) * 60 + seconds) * 1000);
}

// An element: el("td", {class: "x", "data-wb": "y"}, "its text") or el("div", {}, [child, "text", ...]).
export function el(tag, attrs = {}, content = null) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (Array.isArray(content)) e.append(...content);
  else if (content !== null && content !== undefined) e.textContent = String(content);
  return e;
}
