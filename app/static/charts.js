// Huitou's dashboard charts, drawn with the vendored Apache ECharts. The data comes from a
// <script type="application/json"> block (data, not code: the CSP forbids inline scripts);
// each chart is a <div data-chart="trends|heat|funnel" data-source="<id of the data block>">.
(function () {
  "use strict";
  var palette = ["#c2410c", "#2563eb", "#059669", "#7c3aed", "#db2777", "#0891b2", "#ca8a04", "#4b5563"];

  function data(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source) return null;
    try {
      return JSON.parse(source.textContent);
    } catch (e) {
      return null;
    }
  }

  function unitAxis(unit) {
    // One y-axis per unit kind, so seconds and percentages never share a scale.
    return { type: "value", name: unit, nameTextStyle: { fontSize: 11 }, splitLine: { show: unit === "count" } };
  }

  function trends(d) {
    var units = [];
    d.series.forEach(function (s) { if (units.indexOf(s.unit) < 0) units.push(s.unit); });
    return {
      color: palette,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 48 * Math.max(units.length - 1, 0) + 16, top: 40, bottom: 48 },
      dataZoom: [{ type: "inside" }],
      xAxis: { type: "category", data: d.dates },
      yAxis: units.map(function (u, i) {
        var axis = unitAxis(u);
        axis.position = i === 0 ? "left" : "right";
        axis.offset = i > 1 ? 48 * (i - 1) : 0;
        return axis;
      }),
      series: d.series.map(function (s) {
        return { name: s.name, type: "line", yAxisIndex: units.indexOf(s.unit), data: s.data, connectNulls: false, showSymbol: false };
      })
    };
  }

  function heat(d) {
    var hours = [];
    for (var h = 0; h < 24; h++) hours.push((h < 10 ? "0" : "") + h);
    return {
      tooltip: { position: "top", renderMode: "richText" },
      grid: { left: 48, right: 16, top: 16, bottom: 72 },
      xAxis: { type: "category", data: hours, splitArea: { show: true } },
      yAxis: { type: "category", data: d.weekdays, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(d.max, 1), calculable: true, orient: "horizontal", left: "center", bottom: 0,
                   inRange: { color: ["#fff7ed", "#fdba74", "#c2410c"] } },
      series: [{ name: d.name, type: "heatmap", data: d.data, emphasis: { itemStyle: { borderColor: "#111", borderWidth: 1 } } }]
    };
  }

  function funnel(d) {
    var first = d.length ? d[0].value : 0;
    return {
      color: palette,
      tooltip: { trigger: "item", renderMode: "richText" },
      series: [{
        type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "4%", gap: 2,
        max: Math.max(first, 1),
        label: { show: true, position: "inside", formatter: "{b}: {c}" },
        data: d
      }]
    };
  }

  var builders = { trends: function (all) { return trends(all.trends); },
                   heat: function (all) { return heat(all.heat); },
                   funnel: function (all) { return funnel(all.funnel); } };

  function draw(root) {
    if (typeof echarts === "undefined") return;
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.getAttribute("data-chart")];
      var all = data(el);
      if (!build || !all) return;
      var chart = echarts.getInstanceByDom(el) || echarts.init(el);
      chart.setOption(build(all), true);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function () { draw(document); });
  window.addEventListener("resize", function () {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
