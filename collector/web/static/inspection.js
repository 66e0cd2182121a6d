// Offline-capable inspection form: every change is queued in localStorage first, then synced.
// The server applies each change once (by op_id) and refuses to overwrite an answer changed by
// someone else since this page loaded it (a conflict), so replays and two inspectors are safe.
(function () {
  "use strict";
  const root = document.getElementById("inspection");
  if (!root || root.dataset.editable !== "true") return;
  const id = root.dataset.id;
  const queueKey = "ww:inspection:" + id + ":queue";
  const statusEl = document.getElementById("sync-status");
  const msg = root.dataset;
  let syncing = false;
  let conflicts = 0;

  const load = () => { try { return JSON.parse(localStorage.getItem(queueKey) || "[]"); } catch (e) { return []; } };
  const save = (q) => localStorage.setItem(queueKey, JSON.stringify(q));
  const newId = () => (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
    : Array.from({length: 32}, () => Math.floor(Math.random() * 16).toString(16)).join("");
  const boxOf = (itemId) => root.querySelector('.item[data-item="' + itemId + '"]');
  const valueLabel = (v) => ({pass: msg.labelPass, fail: msg.labelFail, na: msg.labelNa})[v]
    || (v === null || v === undefined || v === "" ? msg.labelNone : String(v));

  // States: online (all saved), pending (sending), offline, error (kept, retrying), conflict.
  function setStatus(kind, text) {
    statusEl.textContent = text || {online: msg.msgOnline, pending: msg.msgPending, offline: msg.msgOffline,
                                     error: msg.msgError, conflict: msg.msgConflicts}[kind];
    statusEl.className = "sync-status " + kind;
    statusEl.dataset.state = kind;
  }

  function settledStatus() {
    if (load().length) setStatus(navigator.onLine ? "pending" : "offline");
    else if (conflicts) setStatus("conflict");
    else setStatus("online");
  }

  function itemValue(box) {
    const name = box.dataset.item;
    let value = null;
    if (box.dataset.type === "pass_fail") {
      const checked = box.querySelector("input[type=radio]:checked");
      value = checked ? checked.value : null;
    } else {
      const input = box.querySelector('[name="' + name + '"]');
      value = input ? (input.value === "" ? null : input.value) : null;
    }
    const noteEl = box.querySelector('[name="' + name + '__note"]');
    return {value: value, note: noteEl ? noteEl.value : ""};
  }

  function showValue(box, value, note) {
    const name = box.dataset.item;
    if (box.dataset.type === "pass_fail") {
      for (const r of box.querySelectorAll("input[type=radio]")) r.checked = r.value === value;
    } else {
      const input = box.querySelector('[name="' + name + '"]');
      if (input) input.value = value === null || value === undefined ? "" : value;
    }
    const noteEl = box.querySelector('[name="' + name + '__note"]');
    if (noteEl && note !== undefined) noteEl.value = note || "";
    reflect(box);
  }

  // Everything on the page that follows from an item's current answer.
  function reflect(box) {
    const {value, note} = itemValue(box);
    box.dataset.value = value === null ? "" : value;
    const details = box.querySelector("details.note");
    if (details && value === "fail") details.open = true;
    const kept = load().some((op) => op.item_id === box.dataset.item);
    const tag = box.querySelector(".tag-kept");
    if (tag) tag.hidden = !kept;
    box.classList.toggle("kept", kept);
    // The sign-off checklist: strike what this answer settles (the server re-checks at sign-off).
    const hasPhoto = box.querySelector(".photos img") !== null;
    for (const li of document.querySelectorAll('#gaps li[data-item="' + box.dataset.item + '"]')) {
      const settled = li.dataset.reason === "not_answered" ? value !== null
        : li.dataset.reason === "evidence_on_fail" ? (value !== "fail" || note.trim() !== "" || hasPhoto)
        : hasPhoto;
      li.classList.toggle("settled", settled);
    }
    const count = Array.from(root.querySelectorAll('.item[data-answerable="true"]'))
      .filter((b) => b.dataset.value !== "").length;
    const answered = document.getElementById("answered");
    if (answered) answered.textContent = String(count);
  }

  function queueChange(box) {
    const {value, note} = itemValue(box);
    const itemId = box.dataset.item;
    // The latest answer wins locally; one op per item waits in the queue.
    const q = load().filter((op) => op.item_id !== itemId);
    q.push({op_id: newId(), item_id: itemId, value: value, note: note,
            base_revision: parseInt(box.dataset.revision || "0", 10)});
    save(q);
    if (box.classList.contains("conflict")) { box.classList.remove("conflict"); conflicts = Math.max(0, conflicts - 1); }
    box.querySelector(".item-msg").textContent = "";
    box.querySelector(".item-msg").classList.remove("ok");
    reflect(box);
    setStatus(navigator.onLine ? "pending" : "offline");
    sync();
  }

  async function sync() {
    const q = load();
    if (!q.length) { settledStatus(); return; }
    if (syncing) return;
    if (!navigator.onLine) { setStatus("offline"); return; }
    syncing = true;
    setStatus("pending");
    try {
      const resp = await fetch("/api/v1/inspections/" + id + "/sync", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": msg.csrf},
        body: JSON.stringify({ops: q}),
      });
      if (!resp.ok) {
        const body = await resp.json().catch(() => ({}));
        setStatus("error", msg.msgError + (body.detail ? " — " + body.detail : " (HTTP " + resp.status + ")"));
        return;
      }
      const body = await resp.json();
      const done = new Set();
      const revisions = {};
      for (const r of body.results) {
        done.add(r.op_id);
        const box = boxOf(r.item_id);
        if (!box) continue;
        const itemMsg = box.querySelector(".item-msg");
        if (r.outcome === "applied" || r.outcome === "duplicate") {
          box.dataset.revision = String(r.server.revision || 0);
          revisions[r.item_id] = r.server.revision || 0;
        } else if (r.outcome === "conflict") {
          box.dataset.revision = String(r.server.revision || 0);
          revisions[r.item_id] = r.server.revision || 0;
          showValue(box, r.server.value, r.server.note);
          itemMsg.textContent = msg.msgConflict + " (" + valueLabel(r.server.value)
            + (r.server.updated_by ? ", " + r.server.updated_by : "") + ")";
          if (!box.classList.contains("conflict")) conflicts += 1;
          box.classList.add("conflict");
        } else {
          itemMsg.textContent = r.message;
        }
      }
      // Keep changes made while this request was in flight, now based on the revision just stored:
      // they follow this device's own answer, so they must not count as a conflict with it.
      save(load().filter((op) => !done.has(op.op_id)).map((op) =>
        op.item_id in revisions ? Object.assign(op, {base_revision: revisions[op.item_id]}) : op));
      for (const r of body.results) { const b = boxOf(r.item_id); if (b) reflect(b); }
      if (body.score !== null && body.score !== undefined) {
        // The page's language writes the decimals: 87,5 in Vietnamese, 87.5 in English.
        const locale = document.documentElement.lang === "vi" ? "vi-VN" : "en";
        document.getElementById("score").textContent = new Intl.NumberFormat(locale).format(body.score);
      }
      settledStatus();
      if (load().length) setTimeout(sync, 0);
    } catch (e) {
      setStatus(navigator.onLine ? "error" : "offline");
    } finally {
      syncing = false;
    }
  }

  // Restore answers given before a reload (offline, or not yet sent), then try to send them.
  for (const op of load()) {
    const box = boxOf(op.item_id);
    if (box) showValue(box, op.value, op.note);
  }
  for (const box of root.querySelectorAll(".item[data-item]")) reflect(box);

  const timers = {};
  root.addEventListener("change", (ev) => {
    const box = ev.target.closest(".item[data-item]");
    if (!box || ev.target.type === "file") return;
    clearTimeout(timers[box.dataset.item]);
    queueChange(box);
  });
  // Typed text is kept on the device while typing, not only when the field loses focus.
  root.addEventListener("input", (ev) => {
    const box = ev.target.closest(".item[data-item]");
    if (!box || ev.target.tagName !== "TEXTAREA" && ev.target.type !== "number") return;
    clearTimeout(timers[box.dataset.item]);
    timers[box.dataset.item] = setTimeout(() => queueChange(box), 1200);
  });

  root.addEventListener("change", async (ev) => {
    const input = ev.target;
    if (input.type !== "file" || !input.files.length) return;
    const box = input.closest(".item[data-item]");
    const itemMsg = box.querySelector(".item-msg");
    if (!navigator.onLine) { itemMsg.textContent = msg.msgPhotoOffline; return; }
    itemMsg.classList.remove("ok");
    itemMsg.textContent = msg.msgPhotoSending;
    const form = new FormData();
    form.append("item_id", input.dataset.photoFor);
    form.append("file", input.files[0]);
    try {
      const resp = await fetch("/api/v1/inspections/" + id + "/photos", {
        method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": msg.csrf}, body: form});
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) { itemMsg.textContent = body.detail || ("HTTP " + resp.status); return; }
      const link = document.createElement("a");
      link.href = "/api/v1/inspections/" + id + "/photos/" + body.id;
      link.target = "_blank";
      const img = document.createElement("img");
      img.src = link.href;
      img.alt = input.closest("label").textContent.trim();
      link.appendChild(img);
      const photos = box.querySelector(".photos");
      photos.insertBefore(link, photos.querySelector(".photo-upload"));
      photos.classList.add("has-photos");
      input.value = "";
      itemMsg.textContent = msg.msgPhotoSaved;
      itemMsg.classList.add("ok");
      reflect(box);
    } catch (e) {
      itemMsg.textContent = msg.msgPhotoOffline;
    }
  });

  // Signing off with answers still on this device would sign without them.
  const signoff = document.getElementById("signoff");
  if (signoff) signoff.addEventListener("submit", (ev) => {
    if (load().length) {
      ev.preventDefault();
      document.getElementById("signoff-msg").textContent = msg.msgSignoffPending;
      sync();
    }
  });

  window.addEventListener("online", sync);
  window.addEventListener("offline", () => setStatus("offline"));
  setInterval(sync, 15000);
  sync();
})();
