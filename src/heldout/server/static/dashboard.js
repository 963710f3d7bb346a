(function () {
  "use strict";
  // Draws each figure from its JSON data block and drives the threshold sliders. The
  // page's policy allows scripts from this server only: no inline script, no eval.
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "svg" }
  };

  function hasPlotly() {
    return typeof Plotly !== "undefined";
  }

  function drawFigures() {
    var nodes = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var source = document.getElementById(node.getAttribute("data-figure"));
      if (!source || !hasPlotly()) {
        continue;
      }
      var figure = JSON.parse(source.textContent);
      node.textContent = "";
      Plotly.newPlot(node, figure.data, figure.layout, CONFIG);
    }
  }

  function fmt(value, digits) {
    return value === null || !isFinite(value) ? "n/a" : value.toFixed(digits);
  }

  // Confusion counts at ROC point i: TP = TPR * P and FP = FPR * N are whole numbers.
  function countsAt(curve, i) {
    var positives = curve.n_positive;
    var negatives = curve.n - curve.n_positive;
    var tp = Math.round(curve.tpr[i] * positives);
    var fp = Math.round(curve.fpr[i] * negatives);
    return { tp: tp, fp: fp, fn: positives - tp, tn: negatives - fp };
  }

  function metricsOf(c) {
    var precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
    var recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
    var f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision: precision, recall: recall, f1: f1 };
  }

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) {
      node.textContent = text;
    }
  }

  function plotCurves(panel, curve) {
    if (!hasPlotly()) {
      return;
    }
    // plotly_white's look (plotly.js has no named templates)
    var axis = { gridcolor: "#EBF0F8", linecolor: "#EBF0F8", zerolinecolor: "#EBF0F8" };
    var layout = {
      paper_bgcolor: "white",
      plot_bgcolor: "white",
      xaxis: axis,
      yaxis: axis,
      height: 320,
      margin: { l: 56, r: 16, t: 36, b: 48 },
      showlegend: false
    };
    var roc = panel.querySelector(".th-roc");
    var pr = panel.querySelector(".th-pr");
    Plotly.react(
      roc,
      [
        { x: curve.fpr, y: curve.tpr, mode: "lines", name: "ROC", line: { color: "#0969da" } },
        { x: [0], y: [0], mode: "markers", name: "threshold", marker: { size: 11, color: "#cf222e" } }
      ],
      Object.assign({}, layout, {
        title: { text: "ROC (AUC " + fmt(curve.roc_auc, 3) + ")" },
        xaxis: Object.assign({}, axis, { title: { text: "false positive rate" }, range: [0, 1] }),
        yaxis: Object.assign({}, axis, { title: { text: "true positive rate" }, range: [0, 1.02] })
      }),
      CONFIG
    );
    Plotly.react(
      pr,
      [
        { x: curve.pr_recall, y: curve.pr_precision, mode: "lines", name: "PR", line: { color: "#8250df" } },
        { x: [0], y: [1], mode: "markers", name: "threshold", marker: { size: 11, color: "#cf222e" } }
      ],
      Object.assign({}, layout, {
        title: { text: "Precision–recall (AP " + fmt(curve.average_precision, 3) + ")" },
        xaxis: Object.assign({}, axis, { title: { text: "recall" }, range: [0, 1] }),
        yaxis: Object.assign({}, axis, { title: { text: "precision" }, range: [0, 1.02] })
      }),
      CONFIG
    );
  }

  function update(panel, curve, index) {
    var counts = countsAt(curve, index);
    var scores = metricsOf(counts);
    var threshold = curve.thresholds[index];
    setText(panel, ".th-value", threshold === null ? "above every score (nothing positive)" : "≥ " + fmt(threshold, 4));
    ["tp", "fp", "fn", "tn"].forEach(function (key) {
      setText(panel, '[data-cell="' + key + '"]', String(counts[key]));
    });
    setText(panel, '[data-metric="precision"]', fmt(scores.precision, 3));
    setText(panel, '[data-metric="recall"]', fmt(scores.recall, 3));
    setText(panel, '[data-metric="f1"]', fmt(scores.f1, 3));
    setText(panel, '[data-metric="roc_auc"]', fmt(curve.roc_auc, 3));
    setText(panel, '[data-metric="average_precision"]', fmt(curve.average_precision, 3));
    if (hasPlotly()) {
      var roc = panel.querySelector(".th-roc");
      var pr = panel.querySelector(".th-pr");
      if (roc && roc.data) {
        Plotly.restyle(roc, { x: [[curve.fpr[index]]], y: [[curve.tpr[index]]] }, [1]);
      }
      if (pr && pr.data) {
        var tp = counts.tp;
        var precision = tp + counts.fp > 0 ? tp / (tp + counts.fp) : 1;
        Plotly.restyle(pr, { x: [[scores.recall]], y: [[precision]] }, [1]);
      }
    }
    panel.setAttribute("data-index", String(index));
  }

  function setUpThresholds() {
    var source = document.getElementById("thresholds-data");
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var panels = document.querySelectorAll("[data-thresholds]");
    for (var i = 0; i < panels.length; i++) {
      (function (panel) {
        var curves = data[panel.getAttribute("data-thresholds")] || [];
        if (!curves.length) {
          return;
        }
        var slider = panel.querySelector(".th-slider");
        var picker = panel.querySelector(".th-model");
        var current = curves[0];

        function choose(model) {
          current = curves[model];
          slider.max = String(current.thresholds.length - 1);
          // Start near the middle of the curve, where the trade-off is visible.
          slider.value = String(Math.floor((current.thresholds.length - 1) / 2));
          plotCurves(panel, current);
          update(panel, current, Number(slider.value));
        }

        slider.addEventListener("input", function () {
          update(panel, current, Number(slider.value));
        });
        picker.addEventListener("change", function () {
          choose(Number(picker.value));
        });
        choose(0);
      })(panels[i]);
    }
  }

  function start() {
    drawFigures();
    setUpThresholds();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
