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


def test_review_timeline_draws_codes_outside_the_scheme_in_grey() -> None:
    """A project coded with an older scheme still shows every annotation, in a grey legend entry."""
    from workbench.analysis.contingency import contingencies
    from workbench.charts import contingency_links, review_timeline

    scheme = default_scheme()
    table = AnnotationTable(ROWS)
    frame = timeline_frame(table, scheme)
    links = contingency_links(contingencies(table, scheme), frame)
    spec = review_timeline(frame, links, scheme, duration_ms=5000).to_dict()
    scales = [
        layer["encoding"]["color"]["scale"]
        for layer in spec["vconcat"][1]["layer"]
        if "color" in layer.get("encoding", {}) and "scale" in layer["encoding"]["color"]
    ]
    assert scales, "the annotation layer has a colour scale"
    assert scales[0]["domain"][-1] == "(not in scheme)" and scales[0]["range"][-1] == "#9e9e9e"


def test_brushing_the_overview_zooms_the_review_timeline() -> None:
    """Compiled by Vega-Lite (vl-convert): the timeline's x domain is the overview's brush, and nothing
    else (a scale binding, for instance, would silently take the domain over)."""
    import vl_convert

    from workbench.analysis.contingency import contingencies
    from workbench.charts import contingency_links, review_timeline

    scheme = default_scheme()
    table = AnnotationTable(ROWS)
    frame = timeline_frame(table, scheme)
    spec = review_timeline(frame, contingency_links(contingencies(table, scheme), frame), scheme, duration_ms=8000)
    vega = vl_convert.vegalite_to_vega(spec.to_dict())
    brush = [s for s in vega["signals"] if s["name"] == "span"]
    assert brush, "the overview's brush is a signal of the compiled chart"
    x_scales = [s for s in vega["scales"] if s["name"].endswith("_x")]
    assert len(x_scales) == 2
    overview, timeline = sorted(x_scales, key=lambda s: "domainRaw" in s)
    assert overview["domain"] == [0, 8] and "domainRaw" not in overview
    assert "span" in timeline["domainRaw"]["signal"]
    # without a brush the timeline shows the whole recording, 0 to 8 s, though the data end at 3.5 s
    assert frame["end_s"].max() < 4
    svg = vl_convert.vegalite_to_svg(spec.to_dict()).replace(" ", "")
    assert ">8<" in svg or ">8.0<" in svg  # the last axis label
