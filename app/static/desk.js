// The agent desk's keyboard and clipboard helpers (no inline scripts: the CSP forbids them).
//   j / k   move the selection in the queue rows      Enter  open the selected ticket
//   n       next ticket                               r      write a reply
//   /       search the phrasing library               e      solve the ticket
// Shortcuts are ignored while typing in a field; Esc leaves the field.
(function () {
  "use strict";

  var selectedId = null;

  function isTyping(element) {
    if (!element || element === document.body) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-ticket-url]"));
  }

  function markSelected(rows) {
    rows.forEach(function (row) {
      var on = row.getAttribute("data-ticket-id") === selectedId;
      row.classList.toggle("selected", on);
      if (on) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    });
  }

  function move(step) {
    var rows = queueRows();
    if (!rows.length) return;
    var index = rows.findIndex(function (row) { return row.getAttribute("data-ticket-id") === selectedId; });
    index = index < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    selectedId = rows[index].getAttribute("data-ticket-id");
    markSelected(rows);
    rows[index].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = queueRows().find(function (r) { return r.getAttribute("data-ticket-id") === selectedId; });
    if (row) window.location.href = row.getAttribute("data-ticket-url");
    return Boolean(row);
  }

  function clickShortcut(key) {
    var target = document.querySelector('[data-shortcut="' + key + '"]');
    if (target && !target.disabled) {
      target.click();
      return true;
    }
    return false;
  }

  function focusReply() {
    var reply = document.querySelector('#composer-form input[name="mode"][value="reply"]');
    if (reply) reply.checked = true;
    var body = document.getElementById("reply-body");
    if (!body) return false;
    body.focus();
    return true;
  }

  function focusSearch() {
    var search = document.getElementById("phrasing-search");
    if (!search) return false;
    search.focus();
    search.select();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    var target = event.target;
    if (isTyping(target)) {
      if (event.key === "Escape") target.blur();
      if (event.key === "Enter" && target.id === "phrasing-search") {
        // Enter in the phrasing search inserts the first suggestion (through htmx.ajax: a list
        // swapped in a moment ago may not be wired up by htmx yet, and a click would navigate).
        var first = document.querySelector("#phrasing-suggestions [hx-get]");
        if (first && window.htmx) {
          event.preventDefault();
          window.htmx.ajax("GET", first.getAttribute("hx-get"), {
            target: first.getAttribute("hx-target") || "#composer-insert",
            swap: first.getAttribute("hx-swap") || "outerHTML",
          });
        }
      }
      return;
    }
    var handled = false;
    switch (event.key) {
      case "j": move(1); handled = true; break;
      case "k": move(-1); handled = true; break;
      case "Enter": handled = openSelected(); break;
      case "n": handled = clickShortcut("n"); break;
      case "e": handled = clickShortcut("e"); break;
      case "r": handled = focusReply(); break;
      case "/": handled = focusSearch(); break;
      default: break;
    }
    if (handled) event.preventDefault();
  });

  // Clicking a row selects it, so j / k continue from there.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#queue-rows tr[data-ticket-url]");
    if (!row) return;
    selectedId = row.getAttribute("data-ticket-id");
    markSelected(queueRows());
  });

  // Typing a shortcut such as "/yp" as the whole reply searches the phrasing library for it.
  document.addEventListener("input", function (event) {
    if (event.target.id !== "reply-body") return;
    var text = event.target.value;
    var search = document.getElementById("phrasing-search");
    if (!search || !/^\/[A-Za-z0-9_\-]{1,31}$/.test(text)) return;
    search.value = text;
    if (window.htmx) window.htmx.trigger(search, "search");
  });

  // --- clipboard ---------------------------------------------------------------------------------

  function copyFallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (error) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return copyFallback(text); });
    }
    return copyFallback(text);
  }

  function csrfToken() {
    var field = document.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // A phrasing copied to paste into the marketplace's own chat counts as a use of the template.
  function recordCopied() {
    var composer = document.getElementById("composer");
    var template = document.querySelector('#composer-insert input[name="template_id"]');
    if (!composer || !template || !template.value) return;
    var locale = document.querySelector('#composer-insert input[name="locale"]');
    var form = new FormData();
    form.append("ticket_id", composer.getAttribute("data-ticket-id"));
    form.append("csrf_token", csrfToken());
    if (locale && locale.value) form.append("locale", locale.value);
    fetch("/phrasing/" + encodeURIComponent(template.value) + "/copied", {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    }).catch(function () { /* the copy itself worked; the statistic is best effort */ });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    event.preventDefault();
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    copyText(source.value !== undefined ? source.value : source.textContent).then(function () {
      button.classList.add("copied");
      window.setTimeout(function () { button.classList.remove("copied"); }, 2000);
      recordCopied();
    }, function () {
      button.classList.add("copy-failed");
    });
  });

  // --- after htmx swaps ----------------------------------------------------------------------------

  function afterSwap() {
    if (selectedId !== null) markSelected(queueRows());
    // A success notice fades after a few seconds; errors stay until the next action.
    var notice = document.querySelector("#flash .notice");
    if (notice && !notice.hasAttribute("data-fading")) {
      notice.setAttribute("data-fading", "1");
      window.setTimeout(function () { if (notice.parentNode) notice.parentNode.removeChild(notice); }, 6000);
    }
  }

  // On the desk a 4xx answer is a refusal shown next to the form (an empty reply, a snooze into
  // the past): an expected answer, not a failed request for htmx to log as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var elt = event.detail.elt;
    if (status >= 400 && status < 500 && status !== 401 && elt && elt.closest &&
        elt.closest(".desk-grid, .desk-head, .workbench")) {
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", afterSwap);
  document.addEventListener("htmx:oobAfterSwap", afterSwap);
  document.addEventListener("htmx:beforeRequest", function (event) {
    // A new attempt clears the previous refusal next to the form.
    var form = event.detail && event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
    if (!form) return;
    [["#composer", "composer-error"], ["#ticket-panel", "panel-error"]].forEach(function (pair) {
      var area = document.getElementById(pair[1]);
      if (area && form.closest(pair[0])) area.innerHTML = "";
    });
  });
})();
