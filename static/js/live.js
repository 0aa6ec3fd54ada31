/* Cat Feeder: live owner pages. One socket to /ws/app/ (the session cookie and the page's
   Origin let it in) brings FeederStatus, VisitRecorded, FedRecorded and CommandStatus;
   "Feed now" forms go through the REST API and then follow their command on the socket.
   Without JavaScript every form still works: it posts and the page reloads. */
(function () {
  "use strict";
  var MAX_ROWS = 50; // rows kept in a live list
  var RANK = { pending: 0, sent: 1, done: 2, failed: 2, expired: 2, missed: 2 };
  var names = { pets: {}, feeders: {} };
  var commandStatus = {}; // command id -> the latest CommandStatus seen, whichever came first

  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  // Times as the server writes them (apps/accounts/times.py, "Sun 6 Dec 13:45"): in the owner's
  // zone, which the page carries, not the browser's; in `zone` and named when a time belongs to
  // a place in another zone (a pet's period).
  var FORMATS = {};
  function formatIn(zone) {
    if (!FORMATS[zone]) {
      FORMATS[zone] = new Intl.DateTimeFormat("en-US", {
        timeZone: zone, weekday: "short", day: "numeric", month: "short",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      });
    }
    return FORMATS[zone];
  }
  function when(iso, zone) {
    var owner = document.body.dataset.timeZone || "UTC";
    var named = zone && zone !== owner ? zone : "";
    var parts = {};
    formatIn(named || owner).formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    var time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = parts.weekday + " " + parts.day + " " + parts.month + " " + parts.hour + ":" + parts.minute +
      (named ? " (" + named + ")" : "");
    if (named) { time.dataset.zone = named; }
    return time;
  }
  function text(tag, value) { var el = document.createElement(tag); el.textContent = value; return el; }

  // -- what the socket tells --------------------------------------------------------------
  function feederStatus(m) {
    $all('[data-feeder-online="' + m.feeder_id + '"]').forEach(function (el) {
      el.textContent = m.online ? "online" : "offline";
      el.classList.toggle("ok", m.online);
      el.classList.toggle("off", !m.online);
    });
    $all('[data-feeder-food="' + m.feeder_id + '"]').forEach(function (el) {
      el.textContent = m.food_level_percent === null ? "unknown" : m.food_level_percent + " %";
    });
    $all('[data-feeder-food-meter="' + m.feeder_id + '"]').forEach(function (el) { el.value = m.food_level_percent || 0; });
    if (m.last_seen_at) {
      $all('[data-feeder-seen="' + m.feeder_id + '"]').forEach(function (el) {
        el.replaceChildren(when(m.last_seen_at));
      });
    }
  }

  function prepend(kind, m, item) {
    // The page shows one household: its feeders are the ones named; the others' events are not for it.
    if (!(m.feeder_id in names.feeders)) { return; }
    $all('[data-live-list="' + kind + '"]').forEach(function (list) {
      if (list.dataset.livePet && String(m.pet_id) !== list.dataset.livePet) { return; }
      if (list.dataset.liveFeeder && String(m.feeder_id) !== list.dataset.liveFeeder) { return; }
      var row = item();
      row.classList.add("new");
      list.prepend(row);
      while (list.children.length > MAX_ROWS) { list.lastElementChild.remove(); }
      $all('[data-empty-for="' + kind + '"]', list.parentElement).forEach(function (el) { el.hidden = true; });
    });
  }

  function visitRecorded(m) {
    prepend("visits", m, function () {
      var li = document.createElement("li");
      var who = m.pet_id !== null ? names.pets[m.pet_id] || "A pet" : "Unknown tag " + m.beacon_mac;
      li.append(when(m.seen_at), " ", text("strong", who), " at " + (names.feeders[m.feeder_id] || "a feeder"));
      return li;
    });
  }

  function fedRecorded(m) {
    prepend("feedings", m, function () {
      var li = document.createElement("li");
      li.append(when(m.fed_at), " ", text("strong", m.grams + " g"));
      if (m.pet_id !== null) { li.append(" for " + (names.pets[m.pet_id] || "a pet")); }
      li.append(" from " + (names.feeders[m.feeder_id] || "a feeder") + " ");
      var badge = text("span", m.source.replace("_", " "));
      badge.className = "badge";
      li.append(badge);
      if (m.ordered_by) {
        var by = text("span", "by " + m.ordered_by.name);
        by.className = "ordered-by";
        li.append(" ", by);
      }
      if (m.offline) {  // served by the feeder on its own while it could not reach us
        var offline = text("span", "fed offline");
        offline.className = "badge";
        li.append(" ", offline);
      }
      return li;
    });
    if (m.pet_id !== null) { $all('[data-pet-gauge="' + m.pet_id + '"]').forEach(function (g) { gaugeAdd(g, m.grams); }); }
  }

  // -- the allowance gauge: FedRecorded adds to it; when its period ends it reads the next one --
  var DAY = 86400000; // ms: the longest wait for a timer (a weekly period's end is checked daily)
  var RETRY = 60000; // ms before asking again when the API did not answer with a new period

  function gaugeDraw(gauge, eaten, allowance) {
    var share = allowance ? Math.min(eaten / allowance, 1) : 1;
    var left = Math.max(allowance - eaten, 0);
    gauge.dataset.eaten = eaten;
    gauge.dataset.allowance = allowance;
    gauge.querySelector("[data-gauge-eaten]").textContent = eaten;
    gauge.querySelector("[data-gauge-allowance]").textContent = allowance;
    gauge.querySelector("[data-gauge-remaining]").textContent = left + " g";
    gauge.querySelector("svg").setAttribute("aria-label", eaten + " g of " + allowance + " g eaten, " + left + " g left");
    var ring = gauge.querySelector("[data-gauge-ring]");
    ring.setAttribute("stroke-dashoffset", (Number(gauge.dataset.length) * (1 - share)).toFixed(2));
    ring.classList.toggle("full", share >= 1);
  }

  function gaugeAdd(gauge, grams) {
    gaugeDraw(gauge, Number(gauge.dataset.eaten) + grams, Number(gauge.dataset.allowance));
  }

  function gaugeRenewAtEnd(gauge, delay) {
    var end = gauge.querySelector("[data-gauge-end] time").dateTime;
    var wait = delay || new Date(end).getTime() - Date.now() + 1000; // a second past the end
    setTimeout(function () { gaugeRenew(gauge, end); }, Math.min(Math.max(wait, 1000), DAY));
  }

  function gaugeRenew(gauge, ended) {
    if (Date.now() < new Date(ended).getTime()) { gaugeRenewAtEnd(gauge); return; } // a long period: not yet
    fetch("/api/pets/" + gauge.dataset.petGauge + "/allowance", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (allowance) {
      gaugeDraw(gauge, allowance.eaten_grams, allowance.allowance_grams);
      if (new Date(allowance.period_end) <= new Date(ended)) { throw new Error("the same period"); } // clocks apart
      var slot = gauge.querySelector("[data-gauge-end]");
      slot.replaceChildren(when(allowance.period_end, gauge.dataset.zone));
      gaugeRenewAtEnd(gauge);
    }).catch(function () { gaugeRenewAtEnd(gauge, RETRY); });
  }

  function commandChanged(m) {
    var known = commandStatus[m.command_id];
    if (known && RANK[known.status] > RANK[m.status]) { return; } // a late "sent" after "done"
    commandStatus[m.command_id] = m;
    $all('[data-command="' + m.command_id + '"]').forEach(function (el) {
      el.textContent = m.status;
      el.className = "badge status-" + m.status;
    });
    $all('[data-command-status][data-command-id="' + m.command_id + '"]').forEach(function (el) { showCommand(el, m); });
  }

  function showCommand(el, m) {
    var words = {
      pending: "Waiting for the feeder…",
      sent: "Sent to the feeder…",
      done: "Done: " + (m.grams_dispensed === null ? m.grams : m.grams_dispensed) + " g dispensed.",
      failed: "Failed" + (m.error ? ": " + m.error : "."),
      expired: "Expired: the feeder did not answer in time.",
      missed: "Missed.",
    };
    el.dataset.state = m.status;
    el.replaceChildren(text("span", m.status), " " + (words[m.status] || ""));
    el.firstChild.className = "badge status-" + m.status;
  }

  var handlers = {
    FeederStatus: feederStatus,
    VisitRecorded: visitRecorded,
    FedRecorded: fedRecorded,
    CommandStatus: commandChanged,
  };

  // -- the socket, reopened with backoff ---------------------------------------------------
  function connect(path) {
    var state = document.querySelector("[data-live-state]");
    var backoff = 1000;
    function open() {
      var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      socket.addEventListener("open", function () {
        backoff = 1000;
        document.body.dataset.live = "open";
        if (state) { state.hidden = false; state.textContent = "● live"; state.className = "live-state on"; }
      });
      socket.addEventListener("message", function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        var handle = handlers[message.type];
        if (handle) { handle(message); }
      });
      socket.addEventListener("close", function () {
        document.body.dataset.live = "closed";
        if (state) { state.hidden = false; state.textContent = "reconnecting…"; state.className = "live-state"; }
        setTimeout(open, backoff);
        backoff = Math.min(backoff * 2, 30000);
      });
    }
    open();
  }

  // -- "Feed now": the REST API, then the command's status from the socket ------------------
  function clearErrors(form) {
    $all(".errorlist.live", form).forEach(function (el) { el.remove(); });
    $all("[aria-invalid]", form).forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function fieldError(form, name, message) {
    var field = form.querySelector('[data-field="' + name + '"]');
    var list = text("ul", "");
    list.className = "errorlist live";
    list.append(text("li", message));
    if (!field) { form.prepend(list); return; }
    var input = field.querySelector("input, select");
    list.id = (input ? input.id : name) + "_live_error";
    field.insertBefore(list, input || null);
    if (input) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", list.id); }
  }

  function showProblem(form, problem) {
    var errors = problem.errors || [];
    errors.forEach(function (error) {
      var name = String(error.loc[error.loc.length - 1]).replace(/_id$/, "");
      fieldError(form, name, error.msg);
    });
    if (!errors.length) { fieldError(form, "grams", problem.detail || "The feeder could not be ordered to feed."); }
  }

  function feedNow(form) {
    var status = form.querySelector("[data-command-status]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors(form);
      var data = new FormData(form);
      if (!data.get("feeder")) { fieldError(form, "feeder", "Choose a feeder."); return; }
      var grams = data.get("grams") === "" ? null : Number(data.get("grams"));
      var body = { grams: grams, pet_id: data.get("pet") ? Number(data.get("pet")) : null };
      status.dataset.commandId = "";
      status.replaceChildren("Ordering…");
      fetch("/api/feeders/" + encodeURIComponent(data.get("feeder")) + "/feed", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") },
        body: JSON.stringify(body),
      }).then(function (response) {
        return response.json().then(function (json) { return { status: response.status, json: json }; });
      }).then(function (answer) {
        if (answer.status !== 202) { status.replaceChildren(); showProblem(form, answer.json); return; }
        var command = answer.json;
        status.dataset.commandId = command.id;
        showCommand(status, commandStatus[command.id] || { status: command.status, grams: command.grams });
      }).catch(function () { form.submit(); }); // no answer: the plain form post says what happened
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var data = document.getElementById("live-names");
    if (data) { names = JSON.parse(data.textContent); }
    $all("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
    $all("form[data-feed-now]").forEach(feedNow);
    $all("form[data-household-switch] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); }); // the button, for no script
    });
    $all("[data-pet-gauge]").forEach(function (gauge) { gaugeRenewAtEnd(gauge); });
    var path = document.body.dataset.liveSocket;
    if (path && "WebSocket" in window) { connect(path); }
  });
})();
