"""Chart builders: checked through their Vega-Lite spec, without a browser."""

from __future__ import annotations

import pytest

from workbench import AnnotationTable, default_scheme
from workbench.charts import timeline_chart, timeline_frame

ROWS = [
    {"id": 1, "actor": "child", "code": "initiative-nonverbal", "onset_ms": 1000, "offset_ms": 2200, "coder": "t"},
    {"id": 2, "actor": "parent", "code": "receiving-words", "onset_ms": 1700, "coder": "t"},
    {"id": 3, "actor": "parent", "code": "receiving-words", "onset_ms": 1750, "coder": "s"},
    {"id": 4, "actor": "parent", "code": "my-own-code", "onset_ms": 3000, "offset_ms": 3500, "coder": "s"},
]


def test_lanes_categories_and_point_width() -> None:
    scheme = default_scheme()
    df = timeline_frame(AnnotationTable(ROWS), scheme, lanes="actor+coder", min_width_ms=150)
    assert sorted(df["lane"].unique()) == ["child · t", "parent · s", "parent · t"]
    row = df.set_index("id").loc[2]
    assert row["category"] == "Receiving initiatives" and row["kind"] == "reception"
    assert row["end_s"] == pytest.approx(1.85)  # a point event drawn 150 ms wide
    assert df.set_index("id").loc[4, "category"] == "(not in scheme)"
    with pytest.raises(ValueError, match="Allowed values"):
        timeline_frame(AnnotationTable(ROWS), scheme, lanes="coder")  # type: ignore[arg-type]


def test_colours_follow_the_scheme() -> None:
    scheme = default_scheme()
    spec = timeline_chart(AnnotationTable(ROWS), scheme).to_dict()
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"][:6] == [c.label for c in scheme.categories][:6]
    assert scale["range"][0] == scheme.categories[0].colour
    assert scale["domain"][-1] == "(not in scheme)" and scale["range"][-1] == "#9e9e9e"
    assert spec["height"] == 28 * 2  # one lane per actor


def _review_spec(table: AnnotationTable, duration_ms: int) -> tuple[dict, dict]:
    """The review timeline's Vega-Lite spec for ``table`` and its datasets (what the chart widget is given)."""
    from workbench.analysis.contingency import contingencies
    from workbench.charts import contingency_links, review_categories, review_timeline, timeline_datasets

    scheme = default_scheme()
    frame = timeline_frame(table, scheme)
    data = timeline_datasets(frame, contingency_links(contingencies(table, scheme), frame))
    lanes = sorted(frame["lane"].unique())
    spec = review_timeline(lanes, review_categories(frame, scheme), scheme, duration_ms=duration_ms).to_dict()
    return spec, data


def test_review_timeline_draws_codes_outside_the_scheme_in_grey() -> None:
    """A project coded with an older scheme still shows every annotation, grey (and named in the key)."""
    spec, data = _review_spec(AnnotationTable(ROWS), 5000)
    bars = next(layer for layer in spec["vconcat"][1]["layer"] if layer.get("data", {}).get("name") == "bars")
    scale = bars["encoding"]["color"]["scale"]
    assert scale["domain"][-1] == "(not in scheme)" and scale["range"][-1] == "#9e9e9e"
    assert "(not in scheme)" in set(data["bars"]["category"])


def test_review_timeline_holds_no_rows_and_zooms_without_a_vega_lite_selection() -> None:
    """Compiled by Vega-Lite (vl-convert): the rows are named datasets the chart widget fills (so any number of
    annotations opens: no inline data, no MaxRowsError); the timeline's x domain is the ``zoom`` parameter,
    else 0 to the recording's end; and no interval selection: while an empty Vega-Lite brush exists, any change
    of its scale's width throws in Vega ("Cannot read properties of undefined (reading '0')") and leaves the
    timeline half-drawn - the collapsed timeline of issue 11."""
    import vl_convert

    table = AnnotationTable([{**ROWS[0], "id": i, "onset_ms": 10 * i, "offset_ms": 10 * i + 5} for i in range(1, 6001)])
    spec, data = _review_spec(table, 80_000)
    assert len(data["bars"]) == 6000
    layers = [layer for view in spec["vconcat"] for layer in view.get("layer", [])]
    names = {layer["data"]["name"] for layer in layers if "name" in layer.get("data", {})}
    assert {"bars", "links", "missed", "moments", "comments"} <= names
    assert all(len(rows) <= 1 for rows in spec.get("datasets", {}).values())  # only the one-row helpers inline
    vega = vl_convert.vegalite_to_vega(spec)
    assert not [d["name"] for d in vega["data"] if d["name"].endswith("_store")], "a Vega-Lite selection came back"
    scales = {s["name"]: s for s in vega["scales"]}
    assert scales["overview_x"]["domain"] == [0, 80.0]
    assert scales["timeline_x"]["domain"] == {"signal": "zoom || [0, 80.0]"}
    assert {s["name"] for s in vega["signals"]} >= {"width", "zoom", "playhead"}


def test_review_timeline_axis_reads_minutes_and_seconds() -> None:
    """The whole recording, 0:00 to its end, in m:ss (an SVG drawn by vl-convert with the rows inline)."""
    import vl_convert

    spec, data = _review_spec(AnnotationTable(ROWS), 125_000)
    spec["datasets"] = {**spec.get("datasets", {}), **{k: v.to_dict("records") for k, v in data.items()}}
    spec["vconcat"] = [{**view, "width": 900} for view in spec["vconcat"]]
    svg = vl_convert.vegalite_to_svg(spec)
    labels = [t for t in __import__("re").findall(r">([0-9:.]+)</text>", svg) if ":" in t]
    assert labels[0] == "0:00" and labels[-1] in ("2:00", "2:05"), labels
    assert all(__import__("re").fullmatch(r"\d+:\d\d", t) for t in labels), labels


def test_clock() -> None:
    from workbench.charts import clock, span_text

    assert clock(0) == "00:00.000" and clock(6233) == "00:06.233" and clock(61_040) == "01:01.040"
    assert clock(3_723_004) == "1:02:03.004" and clock(-1500) == "-00:01.500" and clock(float("nan")) == ""
    assert span_text(1000, 1000) == "00:01.000" and span_text(1000, 2500) == "00:01.000–00:02.500"


def test_one_colour_per_outcome_wherever_it_is_drawn() -> None:
    """The review's links and missed cross, a report's bars and the research notebook's bars share one palette."""
    import pandas as pd

    from workbench.analysis.outcomes import contingency_by_phase
    from workbench.charts import OUTCOME_COLOURS, contingency_outcomes_chart, outcome_bars

    spec, _ = _review_spec(AnnotationTable(ROWS), 5000)
    layers = {layer.get("data", {}).get("name"): layer for layer in spec["vconcat"][1]["layer"]}
    links = layers["links"]["encoding"]["color"]["scale"]
    assert links["range"] == [OUTCOME_COLOURS[o] for o in links["domain"]]
    assert layers["missed"]["mark"]["color"] == OUTCOME_COLOURS["missed"]
    counts = pd.DataFrame({"who": ["child → parent"], "attuned": [2], "received": [1], "discordant": [0],
                           "missed": [1]})
    bars = outcome_bars(counts).to_dict()
    palette = {"domain": list(OUTCOME_COLOURS), "range": list(OUTCOME_COLOURS.values())}
    assert bars["encoding"]["color"]["scale"] == palette
    assert bars["encoding"]["x"]["stack"] == "normalize" and bars["encoding"]["y"]["field"] == "who"
    table = contingency_by_phase([("A", "pre", AnnotationTable(ROWS).filter(coder="t"), 5000)], default_scheme())
    grid = contingency_outcomes_chart(table).to_dict()
    assert grid["encoding"]["color"]["scale"] == bars["encoding"]["color"]["scale"]


def test_report_timeline_shades_moments_and_marks_comments() -> None:
    import pandas as pd

    from workbench.charts import MOMENT_COLOUR, STATUS_COLOURS, report_timeline

    moments = pd.DataFrame({"onset_ms": [900], "offset_ms": [2400], "title": ["Receiving the toy"]})
    comments = pd.DataFrame({"time_ms": [1700], "status": ["discuss"], "text": ["What did you see?"]})
    spec = report_timeline(AnnotationTable(ROWS), default_scheme(), moments=moments, comments=comments,
                           lanes="actor+coder", duration_ms=5000).to_dict()
    shade, bars, ticks = spec["layer"]
    assert shade["mark"] == {"type": "rect", "color": MOMENT_COLOUR, "opacity": 0.3}
    assert bars["encoding"]["x"]["scale"]["domain"] == [0, 5.0]
    assert ticks["encoding"]["color"]["scale"]["range"] == list(STATUS_COLOURS.values())
    assert spec["height"] == 26 * 3  # a lane per actor and coder
