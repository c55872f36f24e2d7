// widgets-shim.js: render Jupyter widgets in the built book without any CDN.
// _config.yml (nb_ipywidgets_js) loads require.js, then this file, then the
// html-manager's embed-amd.js. This file and the folders of book/vendor/ are all
// copied into _build/html/_static/, so every URL is computed from this script's
// own address: that works at any page depth, over http:// and over file://.
(function () {
  "use strict";
  // ".../_static/" (Sphinx appends "?v=<checksum>" to the script's URL).
  var here = document.currentScript.src.replace(/[?#].*$/, "").replace(/[^/]*$/, "");
  var htmlManager = here + "html-manager";

  require.config({
    // Relative module paths resolve under _static/: an unknown widget front end is
    // looked up in _static/no-cdn/ (data-jupyter-widgets-cdn), fails locally and
    // never reaches the network.
    baseUrl: here,
    paths: {
      // embed-amd.js defines @jupyter-widgets/base, /controls, /html-manager, ...
      // and webpack derives the Font Awesome URLs from each module's URL, so the
      // whole scope must point at the vendored folder, not just html-manager/dist.
      "@jupyter-widgets": htmlManager,
      "@jupyter-widgets/html-manager/dist": htmlManager,
      anywidget: here + "anywidget/index", // anywidget's AMD front end, from the wheel
    },
  });

  // ipywidgets 8 still typesets with the MathJax 2 API,
  //   MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]),
  // which MathJax 3 lacks. Map it onto MathJax 3's typesetPromise, once MathJax 3
  // has loaded (it is deferred, and it replaces any earlier window.MathJax object).
  function addHub() {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.version || mathjax.Hub) return;
    mathjax.Hub = {
      Queue: function () {
        var elements = [];
        for (var i = 0; i < arguments.length; i++) {
          var job = arguments[i];
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
        }
        return mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise(elements);
        });
      },
    };
  }
  addHub();
  // Listeners run in the order they were added: this one runs before embed-amd's.
  window.addEventListener("load", addHub);
})();
