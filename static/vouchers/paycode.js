/* 결제하기: count the pay code's 3 minutes down and ask the server whether the shop has taken it.
   The countdown starts from the seconds the server says are left (a phone's clock may be wrong);
   without script the page shows the time the code is valid until. No dependencies. */
(function () {
  "use strict";
  var card = document.getElementById("pay-code");
  if (!card) { return; }
  var left = parseInt(card.getAttribute("data-seconds-left"), 10);
  var statusUrl = card.getAttribute("data-status-url");
  var countdown = document.getElementById("pay-countdown");
  var loaded = Date.now();
  var POLL_MS = 2000;
  var timer = null, poller = null;

  function secondsLeft() {
    return Math.max(0, left - Math.floor((Date.now() - loaded) / 1000));
  }

  function finish(state) {
    clearInterval(timer);
    clearInterval(poller);
    card.classList.add("is-over");
    card.setAttribute("data-state", state);
    document.getElementById("pay-qr").setAttribute("aria-hidden", "true");
    if (countdown) { countdown.textContent = ""; }
  }

  function expire(state) {
    finish(state);
    document.getElementById("pay-code-expired").hidden = false;
  }

  function paid(body) {
    finish("used");
    document.getElementById("pay-code-paid-text").textContent = body.paid_text;
    document.getElementById("pay-code-receipt").setAttribute("href", body.receipt_url);
    document.getElementById("pay-code-paid").hidden = false;
    var spendable = document.getElementById("spendable");
    if (spendable && body.spendable_text) { spendable.textContent = body.spendable_text; }
  }

  function tick() {
    var s = secondsLeft();
    countdown.textContent = "(" + Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60) + ")";
    if (s === 0) {
      clearInterval(timer);
      poll(true);  // paid in its last second? ask once more before saying it is over
    }
  }

  function poll(last) {
    if (!window.fetch || !statusUrl) {
      if (last) { expire("expired"); }
      return;
    }
    fetch(statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.state === "used") { paid(body); }
        else if (body && body.state !== "active") { expire(body.state); }
        else if (last) { expire("expired"); }
      })
      .catch(function () { if (last) { expire("expired"); } });
  }

  if (isNaN(left) || left <= 0) { expire("expired"); return; }
  tick();
  timer = setInterval(tick, 1000);
  poller = setInterval(function () { poll(false); }, POLL_MS);
})();
