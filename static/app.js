// Datadock's only script of its own: keep aria-invalid in step with the error under each field
// after htmx swaps verify results in (no inline script, so the CSP stays default-src 'self').
(function () {
  "use strict";
  function syncInvalid() {
    document.querySelectorAll("p.field-error[id$='-error']").forEach(function (slot) {
      var input = document.getElementById(slot.id.slice(0, -"-error".length));
      if (!input) { return; }
      if (slot.textContent.trim()) { input.setAttribute("aria-invalid", "true"); }
      else { input.removeAttribute("aria-invalid"); }
    });
  }
  document.addEventListener("htmx:afterSettle", syncInvalid);
  document.addEventListener("htmx:oobAfterSwap", syncInvalid);
})();
// A Copy button (data-copy="<input id>") copies that input's value: invitation links, new keys
// (or an element's text: the source form's read-only user SQL in a <pre>).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) { return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    var text = "value" in input ? input.value : input.textContent;
    if (input.select) { input.select(); } else { window.getSelection().selectAllChildren(input); }
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () {
        document.execCommand("copy"); done();
      });
    } else { document.execCommand("copy"); done(); }
  });
})();
// The source form: "Retry without SSL" turns SSL off before htmx sends the form (capture phase,
// so it runs before htmx's own click handler), and the spinner counts seconds against the
// verify deadline while a verify or save runs (htmx disables the buttons meanwhile).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-retry-without-ssl]") : null;
    if (!button || !button.form) { return; }
    var ssl = button.form.querySelector("#sslEnabled");
    if (ssl) { ssl.checked = false; }
  }, true);
  var timer = null;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    var slot = document.getElementById("verify-elapsed");
    if (slot) { slot.textContent = ""; }
  }
  function isVerifyOrSave(event) {
    var form = document.getElementById("source-form");
    var elt = event.detail && event.detail.elt;
    return !!(form && elt && (elt === form || elt.closest("#source-form .actions, #verify-result")));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isVerifyOrSave(event)) { return; }
    var form = document.getElementById("source-form");
    stop();
    var started = Date.now();
    var deadline = form.getAttribute("data-deadline");
    var tick = function () {
      var slot = document.getElementById("verify-elapsed");
      if (!slot) { return; }
      var seconds = Math.floor((Date.now() - started) / 1000);
      slot.textContent = " " + seconds + " s" + (deadline ? " of " + deadline + " s" : "");
    };
    tick();
    timer = setInterval(tick, 250);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (isVerifyOrSave(event)) { stop(); }
  });
})();
// The dialect select: each dialect's typed values (never a secret) are remembered for the
// page's life and come back when that dialect is chosen again; a value the server carried
// over from the dialect just left (a field that means the same thing) wins. A dialect chosen
// before htmx loaded (or restored by the browser) gets its own fields once htmx is there.
(function () {
  "use strict";
  var memo = {};
  var carried = {};
  var pending = 0;
  function fieldset() { return document.getElementById("dialect-fields"); }
  function shownDialect() {
    var box = fieldset();
    var hidden = box ? box.querySelector("input[name='fieldsetDialect']") : null;
    return hidden ? hidden.value : null;
  }
  function inputs(box) {
    return Array.prototype.filter.call(box.querySelectorAll("input[name], select[name], textarea[name]"),
      function (el) { return el.type !== "password" && el.type !== "hidden"; });
  }
  function remember() {
    var box = fieldset();
    var key = shownDialect();
    if (!box || !key) { return; }
    var values = {};
    carried = {};
    inputs(box).forEach(function (el) {
      values[el.name] = el.type === "checkbox" ? el.checked : el.value;
      if (el.type !== "checkbox" && el.value) { carried[el.name] = true; }
    });
    memo[key] = values;
  }
  function restore() {
    var box = fieldset();
    var values = memo[shownDialect()];
    if (!box || !values) { return; }
    inputs(box).forEach(function (el) {
      if (!(el.name in values) || (carried[el.name] && el.type !== "checkbox" && el.value)) { return; }
      if (el.type === "checkbox") { el.checked = values[el.name]; } else { el.value = values[el.name]; }
    });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.id === "dialect" && elt.closest("#source-form")) { remember(); pending += 1; }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // Only after a dialect switch: a pasted connection string's values are not overwritten.
    // Counted: a second switch may start before the first one's fields have settled.
    if (pending > 0 && event.target && event.target.id === "dialect-fields") { pending -= 1; restore(); }
  });
  document.addEventListener("htmx:load", function (event) {
    var select = document.getElementById("dialect");
    if (!select || !select.closest("#source-form") || !event.detail || event.detail.elt !== document.body) {
      return;
    }
    var shown = shownDialect();
    if (shown && select.value !== shown && window.htmx) { window.htmx.trigger(select, "change"); }
  });
})();
// The source form's dialect tiles (templates/partials/dialect_tiles.html): with the script the
// select is joined by a searchable grid of tiles, one radio each. Choosing a tile (click,
// Enter or Space) sets the select and fires its change, so htmx swaps the fieldset just as a
// select change does (and the dialect memo above counts it); arrow keys, Home and End move
// between the shown tiles. Elements marked data-js-only (the tiles, Copy buttons) show only
// with the script; the "Create a read-only user" box stays open across dialect switches.
(function () {
  "use strict";
  var helpOpen = false;
  function picker() { return document.getElementById("dialect-picker"); }
  function select() { return document.getElementById("dialect"); }
  function tiles() {
    var box = picker();
    return box ? Array.prototype.slice.call(box.querySelectorAll("[role='radio']")) : [];
  }
  function shown() { return tiles().filter(function (t) { return !t.hidden; }); }
  function sync() {
    var chosen = select();
    if (!chosen) { return; }
    var current = null;
    tiles().forEach(function (t) {
      var on = t.getAttribute("data-dialect") === chosen.value;
      t.setAttribute("aria-checked", on ? "true" : "false");
      if (on) { current = t; }
    });
    // One tab stop in the group: the chosen tile, or the first shown one while it is filtered out.
    var stop = current && !current.hidden ? current : shown()[0];
    tiles().forEach(function (t) { t.tabIndex = t === stop ? 0 : -1; });
  }
  function choose(tile) {
    var chosen = select();
    if (!chosen || !tile) { return; }
    var key = tile.getAttribute("data-dialect");
    if (chosen.value !== key) {
      chosen.value = key;
      chosen.dispatchEvent(new Event("change", { bubbles: true }));
    }
    sync();
    tile.focus();
  }
  function filter() {
    var search = document.getElementById("dialect-search");
    if (!search) { return; }
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    tiles().forEach(function (t) {
      var text = t.getAttribute("data-search") || "";
      t.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      if (!t.hidden) { count += 1; }
    });
    var status = document.getElementById("dialect-matches");
    if (status) {
      status.textContent = !words.length ? "" : count === 0 ? "No engine matches." :
        count + (count === 1 ? " engine matches." : " engines match.");
    }
    sync();
  }
  function columns(list) {
    var top = list.length ? list[0].offsetTop : 0;
    return Math.max(1, list.filter(function (t) { return t.offsetTop === top; }).length);
  }
  function reveal(root) {
    if (!root || !root.querySelectorAll) { return; }
    root.querySelectorAll("[data-js-only][hidden]").forEach(function (el) { el.hidden = false; });
  }
  function start() { reveal(document); filter(); }
  document.addEventListener("click", function (event) {
    var tile = event.target.closest ? event.target.closest("#dialect-picker [role='radio']") : null;
    if (tile) { event.preventDefault(); choose(tile); }
  });
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (el && el.id === "dialect-search") {
      if (event.key === "Enter" || event.key === "ArrowDown") {
        event.preventDefault(); // Enter would submit the form (Verify)
        var first = shown()[0];
        if (first) { first.focus(); }
      }
      return;
    }
    if (!el || !el.closest || !el.closest("#dialect-picker [role='radio']")) { return; }
    var list = shown();
    var at = list.indexOf(el);
    var moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(list), ArrowUp: -columns(list) };
    var next = null;
    if (event.key in moves) { next = list[Math.min(Math.max(at + moves[event.key], 0), list.length - 1)]; }
    else if (event.key === "Home") { next = list[0]; }
    else if (event.key === "End") { next = list[list.length - 1]; }
    if (!next || at < 0) { return; }
    event.preventDefault();
    list.forEach(function (t) { t.tabIndex = t === next ? 0 : -1; });
    next.focus();
  });
  document.addEventListener("input", function (event) {
    if (event.target && event.target.id === "dialect-search") { filter(); }
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "dialect") { sync(); }
  });
  document.addEventListener("toggle", function (event) {
    if (event.target && event.target.id === "read-only-user") { helpOpen = event.target.open; }
  }, true);
  document.addEventListener("htmx:load", function (event) { reveal(event.detail && event.detail.elt); });
  document.addEventListener("htmx:afterSettle", function () {
    // A swapped fieldset (or a pasted string's dialect, out of band): tiles follow the select.
    var box = document.getElementById("read-only-user");
    if (box && helpOpen) { box.open = true; }
    sync();
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
// The source page's sections as tabs (issue 14). Without JavaScript every section shows and the
// bar's links jump to them. With it the bar is an ARIA tablist: one section shows at a time,
// arrow keys, Home and End move between tabs, and the URL's hash names the section, so reload
// and Back keep it; a hash naming something inside a section (#run-12, #sync-history) opens
// that section. With no hash, Overview shows, or Schema right after a sync was started (its
// "sync started" message is on the page). Hidden sections stay in the page: their htmx polls
// go on. The sync panel's poll asks for the history page on show (its rows come with it).
(function () {
  "use strict";
  var bar = document.querySelector("nav[data-tabs]");
  if (!bar) { return; }
  var tabs = Array.prototype.slice.call(bar.querySelectorAll("a[data-tab]"));
  function panelOf(tab) { return document.getElementById(tab.getAttribute("data-tab")); }
  function select(tab, focus) {
    tabs.forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      other.tabIndex = on ? 0 : -1;
      var panel = panelOf(other);
      if (panel) { panel.hidden = !on; }
    });
    if (focus) { tab.focus(); }
  }
  function fromHash() {
    var id = window.location.hash.slice(1);
    var target = null;
    try { target = id ? document.getElementById(decodeURIComponent(id)) : null; } catch (e) { target = null; }
    for (var i = 0; target && i < tabs.length; i++) {
      var panel = panelOf(tabs[i]);
      if (panel && panel.contains(target)) {
        select(tabs[i], false);
        if (target !== panel) { target.scrollIntoView(); }
        return true;
      }
    }
    return false;
  }
  function byKey(key) {
    return tabs.filter(function (tab) { return tab.getAttribute("data-tab") === key; })[0] || tabs[0];
  }
  function show() {
    if (!fromHash()) { select(byKey(document.getElementById("flash-sync") ? "schema" : "overview"), false); }
  }
  bar.setAttribute("role", "tablist");
  tabs.forEach(function (tab) {
    var panel = panelOf(tab);
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", tab.getAttribute("data-tab"));
    if (panel) { panel.setAttribute("role", "tabpanel"); panel.setAttribute("aria-labelledby", tab.id); }
  });
  show();
  bar.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest("a[data-tab]") : null;
    if (!tab) { return; }
    event.preventDefault();
    if (tab.getAttribute("aria-selected") !== "true") {
      window.history.pushState(null, "", "#" + tab.getAttribute("data-tab"));
    }
    select(tab, true);
  });
  bar.addEventListener("keydown", function (event) {
    var at = tabs.indexOf(document.activeElement);
    var moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
    if (at < 0 || !(event.key in moves)) { return; }
    event.preventDefault();
    var tab = tabs[(moves[event.key] + tabs.length) % tabs.length];
    window.history.replaceState(null, "", "#" + tab.getAttribute("data-tab"));
    select(tab, true);
  });
  window.addEventListener("popstate", show);
  window.addEventListener("hashchange", show);
  document.addEventListener("htmx:configRequest", function (event) {
    var runs = document.getElementById("sync-history");
    var page = runs ? parseInt(runs.getAttribute("data-page"), 10) : 1;
    if (event.detail.elt && event.detail.elt.id === "sync-panel" && page > 1) {
      event.detail.parameters.history = String(page);
    }
  });
})();
// The schema browser (issue 14): a table named by the URL's hash (#t-schema.table) opens, on
// load, on a hash change and after the schema panel is swapped in; a foreign key's link to a
// table on this page (data-anchor) opens it here instead of searching for it (without
// JavaScript the link's ?q= search shows the table, opened by the server).
(function () {
  "use strict";
  function openFromHash() {
    var id = window.location.hash.slice(1);
    var target = null;
    try { target = id ? document.getElementById(decodeURIComponent(id)) : null; } catch (e) { target = null; }
    if (target && target.tagName === "DETAILS" && target.classList.contains("schema-table")) {
      target.open = true;
      return target;
    }
    return null;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("#sync-panel a[data-anchor]") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    var anchor = link.getAttribute("data-anchor");
    if (!document.getElementById(anchor)) { return; }
    event.preventDefault();
    if (window.location.hash === "#" + anchor) {
      var target = openFromHash();
      if (target) { target.scrollIntoView(); }
    } else {
      window.location.hash = anchor;
    }
  });
  window.addEventListener("hashchange", openFromHash);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.elt && event.detail.elt.id === "sync-panel") { openFromHash(); }
  });
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", openFromHash); }
  else { openFromHash(); }
})();
