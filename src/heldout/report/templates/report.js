(function () {
  "use strict";
  // Draws every figure from its JSON data block. Kept tiny: the page's policy allows this
  // script and plotly's bundle by hash, and nothing else.
  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "svg" }
  };

  function plots() {
    return document.querySelectorAll("[data-figure]");
  }

  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    var nodes = plots();
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var source = document.getElementById(node.getAttribute("data-figure"));
      if (!source) {
        continue;
      }
      var figure = JSON.parse(source.textContent);
      node.textContent = "";
      Plotly.newPlot(node, figure.data, figure.layout, CONFIG);
    }
  }

  function resize() {
    var nodes = plots();
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].classList.contains("js-plotly-plot")) {
        Plotly.Plots.resize(nodes[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
})();
