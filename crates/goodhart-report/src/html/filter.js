// Goodhart report: filtering of the rollout and sample tables, and the link from a chart point or a
// training row to the rollouts behind it (#rollouts?step=3&framing=neutral). No network, no library.
(function () {
  "use strict";
  var errors = [];
  function note(msg) {
    errors.push(String(msg));
    document.documentElement.setAttribute("data-errors", errors.join("\n"));
  }
  window.addEventListener("error", function (e) { note(e.message || e); });
  function selectsOf(table) {
    return document.querySelectorAll('select[data-table="' + table.id + '"]');
  }
  function apply(table) {
    var sels = selectsOf(table);
    var shown = 0;
    var rows = table.tBodies.length ? table.tBodies[0].rows : [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var ok = true;
      for (var j = 0; j < sels.length; j++) {
        var want = sels[j].value;
        if (!want) continue;
        var have = (row.getAttribute("data-" + sels[j].getAttribute("data-key")) || "").split(" ");
        if (have.indexOf(want) < 0) { ok = false; break; }
      }
      row.hidden = !ok;
      if (ok) shown++;
    }
    var count = document.getElementById(table.id + "-count");
    if (count) count.textContent = String(shown);
  }
  function choose(sel, value) {
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === value) { sel.value = value; return; }
    }
    // A value no listed row has (a step without flagged rollouts): offer it, so the table shows none.
    var opt = document.createElement("option");
    opt.value = value;
    opt.textContent = value;
    sel.appendChild(opt);
    sel.value = value;
  }
  function fromHash() {
    var h = location.hash;
    var q = h.indexOf("?");
    if (q < 0) return;
    var section = document.getElementById(h.slice(1, q));
    if (!section) return;
    var params = new URLSearchParams(h.slice(q + 1));
    var tables = section.querySelectorAll("table.filterable");
    for (var t = 0; t < tables.length; t++) {
      var sels = selectsOf(tables[t]);
      for (var j = 0; j < sels.length; j++) {
        var key = sels[j].getAttribute("data-key");
        choose(sels[j], params.has(key) ? params.get(key) : "");
      }
      apply(tables[t]);
    }
    section.scrollIntoView();
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-table]")) {
      apply(document.getElementById(t.getAttribute("data-table")));
    }
  });
  window.addEventListener("hashchange", fromHash);
  var all = document.querySelectorAll("table.filterable");
  for (var i = 0; i < all.length; i++) apply(all[i]);
  fromHash();
  document.documentElement.setAttribute("data-ready", "1");
})();
