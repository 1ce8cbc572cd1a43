// Huitou's small browser helpers. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";
  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.value || source.textContent || "");
      button.setAttribute("aria-label", "copied");
    }
  });
})();
