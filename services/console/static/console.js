// Draws each chart from the ECharts option the server rendered into data-chart (no inline
// script, so the page runs under a Content-Security-Policy of script-src 'self').
(function () {
  function draw() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      el.setAttribute("data-drawn", "1");
      var option = JSON.parse(el.getAttribute("data-chart") || "{}");
      if (!option.series) return;
      option.animation = false;
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
  // Panels fetched after first paint (htmx) bring charts of their own.
  document.addEventListener("htmx:afterSettle", draw);
})();
