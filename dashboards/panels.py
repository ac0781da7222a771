"""House defaults for the Octavia dashboards' panels, variables and queries.

Every helper returns a grafana-foundation-sdk builder, so a dashboard module
reads as a list of panels. Each panel gets its title, description and unit here
as required arguments: a panel without them cannot be written.
"""
from grafana_foundation_sdk.builders import bargauge, gauge, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.builders.common import (
    LineStyle,
    ReduceDataOptions,
    StackingConfig,
    TableSortByFieldState,
    VizLegendOptions,
    VizTooltipOptions,
)
from grafana_foundation_sdk.builders.dashboard import CustomVariable, QueryVariable, ThresholdsConfig
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

from .promql import HAPROXY_STATES

# The provisioned Prometheus datasource; the role writes it with this uid.
DATASOURCE_UID = "octavia-prometheus"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

GREEN, RED, ORANGE, BLUE, YELLOW, GREY = "green", "red", "orange", "blue", "yellow", "text"


def query(expr, legend="__auto", ref="A", instant=False, fmt=None):
    """A Prometheus target on the pinned datasource.

    instant=True asks for the last value only (stat, gauge, table, bar gauge);
    fmt="table" returns one row per series with its labels as columns.
    """
    target = (Dataquery().expr(expr).ref_id(ref).legend_format(legend)
              .editor_mode(QueryEditorMode.CODE).datasource(DATASOURCE))
    if instant:
        target = target.instant()
    else:
        target = target.range()
    if fmt == "table":
        target = target.format(PromQueryFormat.TABLE)
    return target


def thresholds(*steps):
    """Absolute thresholds from (value, color) pairs; the first value is None (base)."""
    return (ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE)
            .steps([model.Threshold(value=value, color=color) for value, color in steps]))


def state_mapping(states, colors):
    """Value mappings that turn promql.state_code numbers back into state names."""
    options = {str(code): model.ValueMappingResult(text=state, color=color, index=code - 1)
               for code, (state, color) in enumerate(zip(states, colors), start=1)}
    options["0"] = model.ValueMappingResult(text="unknown", color=GREY, index=len(states))
    return [model.ValueMap(options=options)]


UP_DOWN_MAPPING = [model.ValueMap(options={
    "1": model.ValueMappingResult(text="UP", color=GREEN, index=0),
    "0": model.ValueMappingResult(text="DOWN", color=RED, index=1),
})]
# Colours in HAProxy's order of the states (promql.HAPROXY_STATES).
MEMBER_STATE_MAPPING = state_mapping(HAPROXY_STATES["octavia_member_status"], (RED, GREEN, BLUE, ORANGE, YELLOW))
POOL_STATE_MAPPING = state_mapping(HAPROXY_STATES["octavia_pool_status"], (RED, GREEN))


def _common(panel, title, description, unit, targets, width, height):
    panel = (panel.title(title).description(description).unit(unit)
             .datasource(DATASOURCE).span(width).height(height))
    for ref, target in zip("ABCDEFGHIJKLMNOP", targets):
        panel = panel.with_target(target.ref_id(ref))
    return panel


def timeseries_panel(title, description, unit, targets, width=12, height=8, stack=False,
                     min_value=0, max_value=None, overrides=()):
    """A time series with a table legend (mean, max, last) and a shared tooltip."""
    panel = (_common(timeseries.Panel(), title, description, unit, targets, width, height)
             .legend(VizLegendOptions().display_mode(common.LegendDisplayMode.TABLE)
                     .placement(common.LegendPlacement.BOTTOM).show_legend(True)
                     .calcs(["mean", "max", "lastNotNull"]))
             .tooltip(VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                      .sort(common.SortOrder.DESCENDING))
             .line_width(1).fill_opacity(10).show_points(common.VisibilityMode.NEVER)
             .span_nulls(False))
    if stack:
        panel = panel.stacking(StackingConfig().mode(common.StackingMode.NORMAL)).fill_opacity(40)
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    for matcher, properties in overrides:
        panel = panel.with_override(matcher, properties)
    return panel


def stat_panel(title, description, unit, targets, width=4, height=4, steps=None, mappings=None,
               graph=False):
    """A single number, coloured by thresholds (green unless told otherwise)."""
    panel = (_common(stat.Panel(), title, description, unit, targets, width, height)
             .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
             .color_mode(common.BigValueColorMode.BACKGROUND)
             .graph_mode(common.BigValueGraphMode.AREA if graph else common.BigValueGraphMode.NONE)
             .text_mode(common.BigValueTextMode.AUTO)
             .thresholds(thresholds(*(steps or [(None, GREEN)]))))
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def gauge_panel(title, description, unit, targets, width=4, height=4, steps=None, max_value=100):
    """A gauge from 0 to max_value with threshold markers."""
    return (_common(gauge.Panel(), title, description, unit, targets, width, height)
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .min(0).max(max_value).show_threshold_markers(True)
            .thresholds(thresholds(*(steps or [(None, GREEN)]))))


def bargauge_panel(title, description, unit, targets, width=12, height=8, steps=None, max_value=None):
    """Horizontal bars, one per series, for rankings (top-N) and usage ratios."""
    panel = (_common(bargauge.Panel(), title, description, unit, targets, width, height)
             .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
             .orientation(common.VizOrientation.HORIZONTAL)
             .display_mode(common.BarGaugeDisplayMode.GRADIENT)
             .show_unfilled(True).min(0)
             .thresholds(thresholds(*(steps or [(None, GREEN)]))))
    if max_value is not None:
        panel = panel.max(max_value)
    return panel


def state_timeline_panel(title, description, targets, mappings, width=12, height=8):
    """Coloured bands over time, one line per series, from state-code queries."""
    return (_common(statetimeline.Panel(), title, description, "none", targets, width, height)
            .mappings(mappings).show_value(common.VisibilityMode.NEVER)
            .merge_values(True).row_height(0.8).fill_opacity(70).line_width(0)
            .thresholds(thresholds((None, GREY))))


def table_panel(title, description, targets, columns, width=24, height=8, sort_by=None):
    """One table row per object, from instant `format=table` queries merged on their labels.

    columns: [(source field, shown name, unit, extra override properties)]. Source
    fields are label names or "Value #<refId>"; every other field is hidden.
    """
    keep = {source: shown for source, shown, _unit, _extra in columns}
    order = {source: index for index, (source, _shown, _unit, _extra) in enumerate(columns)}
    panel = (_common(table.Panel(), title, description, "short", targets, width, height)
             .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
             .with_transformation(model.DataTransformerConfig(id_val="organize", options={
                 "excludeByName": {"Time": True},
                 "includeByName": dict.fromkeys(keep, True),
                 "indexByName": order,
                 "renameByName": keep,
             }))
             .show_header(True).cell_height(common.TableCellHeight.SM)
             .align(common.FieldTextAlignment.AUTO).inspect(False)
             .thresholds(thresholds((None, GREEN))))
    if sort_by:
        shown, descending = sort_by
        panel = panel.sort_by([TableSortByFieldState().display_name(shown).desc(descending)])
    for _source, shown, unit, extra in columns:
        properties = [model.DynamicConfigValue(id_val="unit", value=unit)] + list(extra)
        panel = panel.override_by_name(shown, properties)
    return panel


def cell_color(mode):
    """Override property: colour a table cell's background or text from its thresholds/mapping."""
    if mode == "background":
        options = common.TableColoredBackgroundCellOptions(mode=common.TableCellBackgroundDisplayMode.BASIC)
    else:
        options = common.TableColorTextCellOptions()
    return model.DynamicConfigValue(id_val="custom.cellOptions", value=options)


def prop(name, value):
    """Override property shorthand."""
    return model.DynamicConfigValue(id_val=name, value=value)


def by_regexp(pattern):
    """Override matcher for fields whose shown name matches a regular expression."""
    return model.MatcherConfig(id_val="byRegexp", options=pattern)


def by_query(ref):
    """Override matcher for every field a query returns."""
    return model.MatcherConfig(id_val="byFrameRefID", options=ref)


DASHED = prop("custom.lineStyle", LineStyle().fill("dash").dash([10, 10]).build())
RIGHT_AXIS = prop("custom.axisPlacement", common.AxisPlacement.RIGHT)


def fixed_color(color):
    """Override property: one fixed colour for matching series."""
    return prop("color", {"mode": "fixed", "fixedColor": color})


# Status code classes as Octavia's proxy exports them, with a colour each.
CODE_COLORS = (("1xx", BLUE), ("2xx", GREEN), ("3xx", YELLOW), ("4xx", ORANGE), ("5xx", RED), ("other", GREY))


def code_overrides(suffix=""):
    """Colour response-code series the same way on every panel."""
    return [(by_regexp(f".*{code}{suffix}$"), [fixed_color(color)]) for code, color in CODE_COLORS]


def query_variable(name, label, description, expr, multi=True, include_all=True):
    """A variable filled by a label_values() query, refreshed with the time range."""
    variable = (QueryVariable(name).label(label).description(description).query(expr)
                .datasource(DATASOURCE).refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(model.VariableSort.NATURAL_ASC).multi(multi).include_all(include_all))
    if include_all:
        # ".*" keeps queries short; Grafana would otherwise send every value as a regex.
        variable = variable.all_value(".*").current(
            model.VariableOption(selected=True, text="All", value="$__all"))
    return variable


def custom_variable(name, label, description, values, default):
    """A variable with a fixed list of values."""
    return (CustomVariable(name).label(label).description(description)
            .values(",".join(values)).multi(False).include_all(False)
            .current(model.VariableOption(selected=True, text=default, value=default))
            .options([model.VariableOption(selected=value == default, text=value, value=value)
                      for value in values]))
