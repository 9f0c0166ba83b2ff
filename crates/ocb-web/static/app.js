// OpenChargeback UI script: theme, dialogs, flash messages, shortcuts, review rows and the
// import modal. No inline scripts (CSP); data is inserted with textContent only.
(function () {
  "use strict";
  var root = document.documentElement;
  var stored = null;
  try { stored = localStorage.getItem("theme"); } catch (e) { stored = null; }
  var dark = stored ? stored === "dark" : (window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  root.classList.toggle("dark", !!dark);

  function $(sel, el) { return (el || document).querySelector(sel); }
  function $all(sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); }
  function csrf() { var m = $('meta[name="csrf-token"]'); return m ? m.getAttribute("content") : ""; }
  function text(tag, value, cls) { var e = document.createElement(tag); e.textContent = value; if (cls) { e.className = cls; } return e; }

  // The same markup as the server's flash messages (base.html, error.rs flash_fragment).
  function flash(level, message) {
    var area = $("#flash");
    if (!area) { return; }
    var d = document.createElement("div");
    d.className = "flash flash-" + level;
    d.setAttribute("role", level === "error" || level === "warning" ? "alert" : "status");
    d.appendChild(text("span", level.charAt(0).toUpperCase() + level.slice(1) + ":", "flash-level"));
    d.appendChild(document.createTextNode(" " + message));
    var close = text("button", "\u00d7", "dismiss");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    close.setAttribute("data-dismiss", "");
    d.appendChild(close);
    area.appendChild(d);
    if (level === "success" || level === "info") { setTimeout(function () { d.remove(); }, 5000); }
  }

  var lastFocus = null;
  function openDialog(d) { if (d && !d.open) { lastFocus = document.activeElement; d.showModal(); } }
  function closeDialog(d) { if (d && d.open) { d.close(); } }

  document.addEventListener("DOMContentLoaded", function () {
    $all("[data-theme-toggle]").forEach(function (b) {
      b.addEventListener("click", function () {
        var isDark = root.classList.toggle("dark");
        try { localStorage.setItem("theme", isDark ? "dark" : "light"); } catch (e) { /* private mode */ }
      });
    });
    $all("[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () {
        var next = $("#period-next");
        if (next) { next.value = window.location.pathname; }
        s.form.submit();
      });
    });
    $all("[data-autodismiss]").forEach(function (f) { setTimeout(function () { f.remove(); }, 5000); });
    document.addEventListener("click", function (e) {
      var t = e.target;
      if (t.matches("[data-dismiss]")) { t.closest(".flash").remove(); }
      if (t.matches("[data-open-dialog]")) { openDialog(document.getElementById(t.getAttribute("data-open-dialog"))); }
      if (t.matches("[data-close-dialog]")) { closeDialog(t.closest("dialog")); }
      if (t.matches("[data-open-import]")) { openDialog($("#import-modal")); }
    });
    $all("dialog").forEach(function (d) {
      d.addEventListener("close", function () { if (lastFocus && lastFocus.focus) { lastFocus.focus(); } });
    });
    $all("[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        $all('input[name="ids"]', box.closest("form")).forEach(function (c) { c.checked = box.checked; });
      });
    });
    // A response htmx does not swap (a server error) still tells the user something happened.
    document.body.addEventListener("htmx:responseError", function (e) {
      var xhr = e.detail.xhr;
      if (xhr && xhr.status >= 500) { flash("error", "The server could not complete the request (HTTP " + xhr.status + "); try again."); }
    });
    document.body.addEventListener("htmx:configRequest", function (e) {
      e.detail.headers["X-CSRF-Token"] = csrf();
      if (e.detail.parameters.row_note !== undefined) {
        e.detail.parameters.note = e.detail.parameters.row_note;
        delete e.detail.parameters.row_note;
      }
    });
    ["chargeApproved", "chargeRejected"].forEach(function (name) {
      document.body.addEventListener(name, function (e) {
        var row = e.target.closest("tr");
        if (row) { row.remove(); }
        [$("#queue-count"), $("#review-badge")].forEach(function (c) {
          if (!c) { return; }
          var n = Math.max(0, parseInt(c.textContent, 10) - 1);
          c.textContent = String(n);
          // The badge counts every reviewable period; at zero it goes, as it does on a reload.
          if (c.id === "review-badge") {
            c.setAttribute("aria-label", n + " charges to review");
            c.setAttribute("title", n + " charges to review");
            c.hidden = n === 0;
          }
        });
        // The "all matching" forms carry the count the user sees; keep it in step.
        $all('input[name="expected_count"]').forEach(function (c) {
          c.value = String(Math.max(0, parseInt(c.value, 10) - 1));
          $all("button", c.form).forEach(function (b) { b.textContent = b.textContent.replace(/\(\d+\)/, "(" + c.value + ")"); });
        });
        flash("success", name === "chargeApproved" ? "Charge approved" : "Charge rejected");
        var table = $("#review-table tbody");
        if (table && table.children.length === 0) {
          var done = $("#all-caught-up");
          if (done) { done.hidden = false; }
        }
      });
    });
    setupShortcuts();
    setupImport();
    setupJobProgress();
  });

  function setupShortcuts() {
    var pendingG = false;
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) { return; }
      if (pendingG) {
        pendingG = false;
        var go = { d: "/", p: "/periods", c: "/charges", r: "/review" }[e.key];
        if (go) { window.location.href = go; }
        return;
      }
      if (e.key === "g") { pendingG = true; setTimeout(function () { pendingG = false; }, 1500); return; }
      if (e.key === "?") { openDialog($("#shortcuts")); return; }
      if (e.key === "/") {
        var s = $("[data-page-search]");
        if (s) { e.preventDefault(); s.focus(); }
      }
    });
  }

  // ---- Background job progress (statements, emails): poll /jobs/{id} every second, then
  // reload without the job parameter; the job's result arrives as a flash message. ----
  function setupJobProgress() {
    var box = $("[data-job]");
    if (!box) { return; }
    var label = $("#job-status", box);
    var id = box.getAttribute("data-job");
    function finish() {
      var url = new URL(window.location.href);
      url.searchParams.delete("job");
      window.location.replace(url.toString());
    }
    function poll() {
      fetch("/jobs/" + id, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j) { finish(); return; }
          if (j.status === "running" || j.status === "queued") {
            var p = j.progress || {};
            label.textContent = j.label + "… " + (p.total ? p.done + " of " + p.total : "starting");
            setTimeout(poll, 1000);
            return;
          }
          finish();
        })
        .catch(function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  // ---- Import modal (SPEC 12.6) ----
  function setupImport() {
    var modal = $("#import-modal");
    if (!modal) { return; }
    var sources = JSON.parse(modal.getAttribute("data-sources") || "[]");
    var periods = JSON.parse(modal.getAttribute("data-periods") || "[]");
    var input = $("#import-files");
    var zone = $("#dropzone");
    var table = $("#import-table");
    var body = $("#import-table tbody");
    var status = $("#import-status");
    var commitBtn = $("#import-commit");
    var previewBtn = $("#import-preview");
    var skip = $("#import-skip-invalid");
    var files = [];
    var results = [];
    var committed = false;

    function accepted(name) { return /\.(csv|csv\.gz|parquet)$/i.test(name); }
    function addFiles(list) {
      Array.prototype.forEach.call(list, function (f) {
        if (!accepted(f.name)) { flash("warning", "Not a FOCUS file (.csv, .csv.gz, .parquet): " + f.name); return; }
        if (files.some(function (x) { return x.name === f.name; })) { return; }
        files.push(f);
      });
      if (files.length) { preview(); }
    }
    input.addEventListener("change", function () { addFiles(input.files); input.value = ""; });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) { e.preventDefault(); zone.classList.remove("over"); addFiles(e.dataTransfer.files); });
    zone.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
    previewBtn.addEventListener("click", preview);
    skip.addEventListener("change", function () { if (files.length) { preview(); } });
    commitBtn.addEventListener("click", commit);
    modal.addEventListener("close", function () { if (committed) { window.location.reload(); } });

    function choices(i) {
      var row = body.children[i];
      if (!row) { return { skip_invalid: skip.checked }; }
      return { source: $(".src", row).value, period: $(".per", row).value, skip_invalid: skip.checked };
    }
    function select(cls, options, chosen, label) {
      var s = document.createElement("select");
      s.className = cls;
      s.setAttribute("aria-label", label);
      options.forEach(function (o) {
        var opt = text("option", o);
        opt.value = o;
        if (o === chosen) { opt.selected = true; }
        s.appendChild(opt);
      });
      s.addEventListener("change", preview);
      return s;
    }

    function preview() {
      if (!files.length) { return; }
      var fd = new FormData();
      var meta = files.map(function (f, i) { return choices(i); });
      files.forEach(function (f) { fd.append("files[]", f, f.name); });
      fd.append("dry_run", "1");
      fd.append("files_metadata", JSON.stringify(meta));
      status.textContent = "Checking " + files.length + " file(s)…";
      commitBtn.disabled = true;
      fetch("/imports/upload", { method: "POST", body: fd, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, json: j }; }); })
        .then(function (r) {
          if (!r.ok) { status.textContent = r.json.error || "Upload refused"; return; }
          results = r.json.results;
          render();
        })
        .catch(function () { status.textContent = "Upload failed; check the connection and try again."; });
    }

    function render() {
      while (body.firstChild) { body.removeChild(body.firstChild); }
      var good = 0;
      results.forEach(function (r) {
        var tr = document.createElement("tr");
        tr.appendChild(text("td", r.filename || ""));
        var srcCell = document.createElement("td");
        var srcOptions = sources.slice();
        if (r.source && srcOptions.indexOf(r.source) < 0) { srcOptions.push(r.source); }
        if (!r.source) { srcOptions.unshift(""); }
        srcCell.appendChild(select("src", srcOptions, r.source || "", "Source of " + r.filename));
        tr.appendChild(srcCell);
        var perCell = document.createElement("td");
        var perOptions = ["auto"].concat(periods);
        if (r.period && perOptions.indexOf(r.period) < 0) { perOptions.push(r.period); }
        perCell.appendChild(select("per", perOptions, r.period || "auto", "Period of " + r.filename));
        tr.appendChild(perCell);
        tr.appendChild(text("td", r.summary_line ? r.summary_line : "", "would-be"));
        var problems = [];
        if (r.error) { problems.push(r.error); }
        if (r.error_count) { problems.push(r.error_count + " row error(s)"); }
        if (r.warnings && r.warnings.length) { problems.push(r.warnings.length + " warning(s)"); }
        tr.appendChild(text("td", problems.join("; ") || "—", "problems"));
        tr.className = r.success ? "ok" : "refused";
        if (r.success) { good += 1; }
        body.appendChild(tr);
      });
      table.hidden = false;
      commitBtn.disabled = good === 0;
      status.textContent = good + " of " + results.length + " file(s) can be imported.";
    }

    function commit() {
      var chosen = [];
      results.forEach(function (r, i) {
        if (r.success && r.staged_id) {
          var c = choices(i);
          c.staged_id = r.staged_id;
          chosen.push(c);
        }
      });
      commitBtn.disabled = true;
      previewBtn.disabled = true;
      status.textContent = "Importing…";
      fetch("/imports/commit", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/json" }, body: JSON.stringify({ files: chosen }) })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          committed = true;
          var pending = j.jobs.length;
          j.jobs.forEach(function (job) {
            var idx = results.findIndex(function (r) { return r.staged_id === job.staged_id; });
            var cell = body.children[idx] ? $(".would-be", body.children[idx]) : null;
            if (!job.job_id) { if (cell) { cell.textContent = "Failed: " + job.error; } pending -= 1; return; }
            poll(job.job_id, cell, function () {
              pending -= 1;
              if (pending === 0) { status.textContent = "Done. Close this dialog to refresh the page."; files = []; }
            });
          });
          if (pending === 0) { status.textContent = "Nothing was imported."; }
        })
        .catch(function () { status.textContent = "Import request failed."; });
    }

    function poll(id, cell, done) {
      fetch("/jobs/" + id, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (j.status === "running" || j.status === "queued") {
            if (cell) { cell.textContent = "Importing… " + j.progress.rows + " rows"; }
            setTimeout(function () { poll(id, cell, done); }, 1000);
            return;
          }
          var res = j.result || {};
          if (cell) {
            cell.textContent = j.status === "succeeded" ? "Imported: " + res.summary_line : "Failed: " + (j.error || res.error || "see the import log");
            cell.parentElement.className = j.status === "succeeded" ? "committed" : "refused";
          }
          done();
        })
        .catch(function () { setTimeout(function () { poll(id, cell, done); }, 2000); });
    }
  }
}());
