/* Alert Guardian board: live updates and form enhancement. No framework, no build step.
 *
 * Everything works without this file (plain forms, redirects). With it:
 * - /ws/board/?team=<id> events redraw the affected row in place (server-rendered by
 *   /board/live/<id>/ so rows look the same however they arrived), and the counts;
 * - /ws/alerts/<id>/ events refresh the alert page's live regions;
 * - /ws/notifications/ keeps the unread badge current;
 * - action forms post in the background and report in a toast;
 * - countdowns and ages tick every second.
 */
(function () {
  "use strict";

  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // ---- Toasts --------------------------------------------------------------------------
  var toasts = $("[data-toasts]");
  function dismissLater(el) { setTimeout(function () { if (el.parentNode) el.remove(); }, 7000); }
  function toast(message, kind) {
    if (!toasts) return;
    var el = document.createElement("div");
    el.className = "toast toast--" + (kind || "info");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    var icon = kind === "error" ? "i-alert" : "i-check";
    el.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#' + icon + '"/></svg><span></span>' +
      '<button type="button" class="toast__close" aria-label="Dismiss" data-dismiss>&times;</button>';
    el.querySelector("span").textContent = message;
    toasts.appendChild(el);
    dismissLater(el);
  }
  $$(".toast", toasts || document).forEach(dismissLater);
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-dismiss]");
    if (btn) btn.closest(".toast").remove();
  });

  // ---- Team switcher submits on change -----------------------------------------------------
  $$("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // ---- Clocks: countdowns to the ack deadline, ages ----------------------------------------
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var s = Math.floor(Math.abs(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + ":" + pad(m) : m) + ":" + pad(r);
  }
  function since(seconds) {
    if (seconds < 60) return Math.max(0, Math.floor(seconds)) + " s";
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  function tick() {
    var now = Date.now() / 1000;
    $$("[data-deadline]").forEach(function (el) {
      var left = parseFloat(el.getAttribute("data-deadline")) - now;
      var text = el.querySelector("[data-countdown-text]") || el;
      text.textContent = left >= 0 ? clock(left) : "overdue " + clock(left);
      el.classList.toggle("is-overdue", left < 0);
      el.classList.toggle("is-soon", left >= 0 && left < 120);
    });
    $$("[data-since]").forEach(function (el) {
      el.textContent = since(now - parseFloat(el.getAttribute("data-since")));
    });
  }
  tick();
  setInterval(tick, 1000);

  // ---- Sockets with reconnect ----------------------------------------------------------------
  var liveStatus = $("[data-live-status]");
  function setLive(state) {
    if (!liveStatus) return;
    liveStatus.setAttribute("data-state", state);
    $(".live-status__text", liveStatus).textContent =
      state === "live" ? "Live" : state === "connecting" ? "Reconnecting…" : "Offline";
  }
  var FINAL_CODES = { 4400: true, 4403: true, 4404: true };
  function openSocket(path, handlers) {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var delay = 500, opened = false;
    function connect() {
      var ws = new WebSocket(scheme + "//" + location.host + path);
      ws.onopen = function () {
        delay = 500;
        if (handlers.primary) setLive("live");
        if (opened && handlers.resync) handlers.resync(); // events may have been missed while away
        opened = true;
      };
      ws.onmessage = function (e) {
        var event;
        try { event = JSON.parse(e.data); } catch (err) { return; }
        handlers.event(event);
      };
      ws.onclose = function (e) {
        if (e.code === 4401) { location.href = "/board/login/?next=" + encodeURIComponent(location.pathname + location.search); return; }
        if (FINAL_CODES[e.code]) { if (handlers.primary) setLive("offline"); return; }
        if (handlers.primary) setLive("connecting");
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    if (handlers.primary) setLive("connecting");
    connect();
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  // ---- Unread badge ------------------------------------------------------------------------
  function setUnread(count) {
    $$("[data-unread-count]").forEach(function (el) { el.textContent = count; });
    $$("[data-unread-badge]").forEach(function (el) { el.classList.toggle("has-unread", count > 0); });
  }
  if ($("[data-unread-count]")) {
    setUnread(parseInt($("[data-unread-count]").textContent, 10) || 0);
    openSocket("/ws/notifications/", {
      event: function (ev) {
        if (ev.type === "unread.count") setUnread(ev.count);
        else if (ev.type === "notification.created") {
          var alertId = ev.alert_id || (ev.alert && ev.alert.id) || (ev.notification && ev.notification.alert_id);
          toast(alertId ? "You were notified about alert #" + alertId : "New notification", "info");
        }
      },
    });
  }

  // ---- Forms post in the background -------------------------------------------------------
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("[data-action-form]")) return;
    e.preventDefault();
    var body = new FormData(form);
    if (e.submitter && e.submitter.name) body.append(e.submitter.name, e.submitter.value);
    var buttons = $$("button", form);
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") === -1) throw new Error("not json");
        return r.json();
      })
      .then(function (data) {
        toast(data.message, data.ok ? "success" : "error");
        if (data.ok && form.hasAttribute("data-reset-on-success")) form.reset();
        if (onActionDone) onActionDone(data);
      })
      .catch(function () { form.submit(); }) // let the browser do it the plain way
      .finally(function () { buttons.forEach(function (b) { b.disabled = false; }); });
  });
  var onActionDone = null;

  // ---- Board page ----------------------------------------------------------------------------
  var board = $("[data-board]");
  if (board) {
    var teamId = board.getAttribute("data-team-id");
    var filterQuery = board.getAttribute("data-filter-query");
    var liveUrl = board.getAttribute("data-live-url");
    var rows = $("[data-rows]", board);
    var latest = {}; // alert id -> sequence of the newest request, so a slow response never wins
    var sequence = 0;

    var sortKey = function (row) {
      return [-parseInt(row.getAttribute("data-rank"), 10), parseFloat(row.getAttribute("data-created")),
        parseInt(row.getAttribute("data-alert-row"), 10)];
    };
    var before = function (a, b) {
      for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) return a[i] < b[i]; }
      return false;
    };
    var hasMore = function () { return !!$("[data-show-more]", board); };

    var flash = function (row, cls) {
      row.classList.add(cls);
      setTimeout(function () { row.classList.remove(cls); }, 1500);
    };

    var placeRow = function (row) {
      var key = sortKey(row);
      var existing = $$("tr[data-alert-row]", rows);
      for (var i = 0; i < existing.length; i++) {
        if (before(key, sortKey(existing[i]))) { rows.insertBefore(row, existing[i]); return true; }
      }
      if (hasMore()) return false; // it belongs on a page not loaded yet
      rows.appendChild(row);
      return true;
    };

    var applyLive = function (data) {
      var counts = $("[data-counts]", board);
      if (counts && data.counts_html) {
        var holder = document.createElement("div");
        holder.innerHTML = data.counts_html;
        counts.replaceWith(holder.firstElementChild);
      }
      setUnread(data.unread);
      matchingCount = data.matching;
      var current = document.getElementById("alert-" + data.id);
      if (!data.row) {
        if (current) {
          current.classList.add("is-leaving");
          setTimeout(function () { current.remove(); updateQueueInfo(); }, 600);
        }
        updateQueueInfo();
        return;
      }
      var tbody = document.createElement("tbody");
      tbody.innerHTML = data.row;
      var row = tbody.firstElementChild;
      if (current) current.remove();
      if (placeRow(row)) {
        flash(row, current ? "is-changed" : "is-new");
        var empty = $("[data-empty]", board);
        if (empty) empty.remove();
      }
      updateQueueInfo();
      tick();
    };

    var initialInfo = $("[data-queue-info]", board);
    var matchingCount = initialInfo ? parseInt(initialInfo.getAttribute("data-matching"), 10) : null;
    var updateQueueInfo = function () {
      var info = $("[data-queue-info]", board);
      if (!info || matchingCount === null) return;
      var shown = $$("tr[data-alert-row]:not(.is-leaving)", rows).length;
      var first = parseInt(info.getAttribute("data-first"), 10) || 1;
      info.textContent = matchingCount && shown
        ? "Showing " + first + "–" + (first + shown - 1) + " of " + matchingCount
        : matchingCount ? matchingCount + " matching" : "No alerts match.";
    };

    var refresh = function (alertId) {
      var mine = ++sequence;
      latest[alertId] = mine;
      var url = liveUrl.replace(/\/0\/$/, "/" + alertId + "/") + "?team=" + teamId + (filterQuery ? "&" + filterQuery : "");
      getJSON(url).then(function (data) { if (latest[alertId] === mine) applyLive(data); }).catch(function () {});
    };

    var resync = function () {
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["[data-rows]", "[data-counts]", "[data-queue-info]", "[data-empty]"].forEach(function (sel) {
          var fresh = $(sel, doc), old = $(sel, board);
          if (fresh && old) old.replaceWith(fresh);
        });
        rows = $("[data-rows]", board);
        var info = $("[data-queue-info]", board);
        if (info) matchingCount = parseInt(info.getAttribute("data-matching"), 10);
        tick();
      });
    };

    openSocket("/ws/board/?team=" + encodeURIComponent(teamId), {
      primary: true,
      resync: resync,
      event: function (ev) { if (ev.alert && ev.alert.id) refresh(ev.alert.id); },
    });

    board.addEventListener("click", function (e) {
      var more = e.target.closest && e.target.closest("[data-show-more]");
      if (!more) return;
      e.preventDefault();
      var query = more.getAttribute("href").replace(/^\?/, "");
      getJSON(board.getAttribute("data-rows-url") + "?team=" + teamId + "&" + query).then(function (data) {
        var tbody = document.createElement("tbody");
        tbody.innerHTML = data.html;
        $$("tr[data-alert-row]", tbody).forEach(function (row) {
          var dup = document.getElementById(row.id);
          if (dup) dup.remove();
          rows.appendChild(row);
        });
        updateQueueInfo();
        if (data.has_more) {
          more.setAttribute("href", more.getAttribute("href").replace(/page=\d+/, function (m) {
            return "page=" + (parseInt(m.split("=")[1], 10) + 1);
          }));
        } else {
          more.remove();
        }
        tick();
      });
    });
  }

  // ---- Alert page ----------------------------------------------------------------------------
  // Every render masks the CSRF token differently: ignore it when deciding what changed.
  var CSRF_VALUE = /name="csrfmiddlewaretoken" value="[^"]*"/g;
  function sameContent(a, b) {
    return a.innerHTML.replace(CSRF_VALUE, "") === b.innerHTML.replace(CSRF_VALUE, "");
  }
  var detail = $("[data-detail]");
  if (detail) {
    var alertId = detail.getAttribute("data-alert-id");
    var refreshing = null;
    var refreshDetail = function () {
      if (refreshing) { refreshing.again = true; return; }
      refreshing = { again: false };
      fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        // Keep what the agent is typing (and where the focus is) across the swap.
        var drafts = {};
        $$("textarea[id]", detail).forEach(function (t) { drafts[t.id] = t.value; });
        var focused = document.activeElement && document.activeElement.id;
        $$("[data-live-region]", doc).forEach(function (fresh) {
          var name = fresh.getAttribute("data-live-region");
          var old = $('[data-live-region="' + name + '"]', detail);
          if (!old || sameContent(old, fresh)) return;
          old.replaceWith(fresh);
          fresh.classList.add("is-changed");
        });
        Object.keys(drafts).forEach(function (id) { var t = document.getElementById(id); if (t) t.value = drafts[id]; });
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        tick();
      }).finally(function () {
        var again = refreshing.again;
        refreshing = null;
        if (again) refreshDetail();
      });
    };
    onActionDone = function () { refreshDetail(); };
    openSocket("/ws/alerts/" + alertId + "/", { primary: true, resync: refreshDetail, event: refreshDetail });
  }

  // Time charts that scroll sideways on a phone start at the newest hour/day (on the right).
  $$(".chart-scroll").forEach(function (el) { el.scrollLeft = el.scrollWidth; });

  // Stats and other pages show the live badge only.
  if (!board && !detail && liveStatus) liveStatus.hidden = true;
})();
