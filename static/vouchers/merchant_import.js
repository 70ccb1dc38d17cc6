/* The merchant list import (admin): while the upload or the confirm request runs, show the server's
   own progress. The page draws a token, sends it with the form, and polls import/progress/<token>/,
   which the running request updates stage by stage (vouchers/merchant_import.py). No dependencies. */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var label = box.querySelector(".ml-progress-label");
  var bar = box.querySelector("progress");

  function newToken() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function poll(url) {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state || !state.stage) { return; }
        label.textContent = state.label;
        if (state.total > 0 && state.stage !== "done") {
          bar.max = state.total;
          bar.value = state.done;
        } else {
          bar.removeAttribute("value");
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  document.querySelectorAll("form[data-import-progress]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var token = newToken();
      var input = form.querySelector("input[name=progress_token]");
      if (input) { input.value = token; }
      label.textContent = form.getAttribute("data-waiting") || box.getAttribute("data-waiting");
      bar.removeAttribute("value");
      box.hidden = false;
      var url = box.getAttribute("data-url").replace(/0{32}\/$/, token + "/");
      window.setInterval(function () { poll(url); }, 700);
      setTimeout(function () {
        form.querySelectorAll("[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
})();
