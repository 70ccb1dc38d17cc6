/* Vouchers pages: a countdown to the payment deadline, and forms that submit once per click. No dependencies. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      // Only a convenience: the services make a repeated submit harmless anyway.
      setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });
  document.querySelectorAll(".vw-countdown[data-expires]").forEach(function (el) {
    var deadline = Date.parse(el.getAttribute("data-expires"));
    if (isNaN(deadline)) { return; }
    function tick() {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = "(" + m + ":" + (s < 10 ? "0" : "") + s + ")";
      if (left === 0) { clearInterval(timer); }
    }
    var timer = setInterval(tick, 1000);
    tick();
  });
})();
