// Draws every [data-chart] element with plotly.js, loaded once from the app's own static files.
(() => {
  const plots = () => document.querySelectorAll("[data-chart]:not([data-drawn])");
  let loading = null;
  const loadPlotly = (src) => {
    if (window.Plotly) return Promise.resolve();
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  };
  const draw = () => {
    const pending = [...plots()];
    if (!pending.length) return;
    loadPlotly(pending[0].dataset.plotlySrc).then(() => {
      for (const el of pending) {
        const data = document.getElementById(el.dataset.chart);
        if (!data) continue;
        const figure = JSON.parse(data.textContent);
        el.dataset.drawn = "1";
        window.Plotly.newPlot(el, figure.data, figure.layout, { displayModeBar: false, responsive: true });
      }
    });
  };
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
