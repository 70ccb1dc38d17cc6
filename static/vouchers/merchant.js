/* The merchant's today page: the list of payments and the totals refresh themselves by polling a
   small HTML fragment of the same list (scoped to the signed-in shop). No dependencies. */
(function () {
  "use strict";
  var box = document.querySelector("[data-poll-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-poll-url");
  var seconds = parseInt(box.getAttribute("data-poll-seconds"), 10) || 5;
  var last = null, timer = null, stopped = false;
  function note(text) {
    var el = document.getElementById("poll-note");
    if (el) { el.textContent = text; el.classList.add("mp-stale"); }
  }
  function poll() {
    if (stopped || document.hidden) { return; }
    fetch(url, {credentials: "same-origin", cache: "no-store", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.status === 403) {
          stopped = true;
          note(box.getAttribute("data-signed-out") || "로그인이 끝났습니다. 다시 로그인해 주세요.");
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined && html !== last) {
          last = html;
          box.innerHTML = html;
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  timer = setInterval(poll, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
