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
  let syncing = false;

  const load = () => { try { return JSON.parse(localStorage.getItem(queueKey) || "[]"); } catch (e) { return []; } };
  const save = (q) => localStorage.setItem(queueKey, JSON.stringify(q));
  const newId = () => (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
    : Array.from({length: 32}, () => Math.floor(Math.random() * 16).toString(16)).join("");

  function setStatus(kind) {
    const text = {online: root.dataset.msgOnline, pending: root.dataset.msgPending, offline: root.dataset.msgOffline}[kind];
    statusEl.textContent = text;
    statusEl.className = "sync-status " + kind;
    statusEl.dataset.state = kind;
  }

  function itemValue(box) {
    const name = box.dataset.item;
    const type = box.dataset.type;
    let value = null;
    if (type === "pass_fail") {
      const checked = box.querySelector('input[type=radio]:checked');
      value = checked ? checked.value : null;
    } else {
      const input = box.querySelector('[name="' + name + '"]');
      value = input ? (input.value === "" ? null : input.value) : null;
    }
    const noteEl = box.querySelector('[name="' + name + '__note"]');
    return {value: value, note: noteEl ? noteEl.value : ""};
  }

  function queueChange(box) {
    const {value, note} = itemValue(box);
    const q = load().filter((op) => op.item_id !== box.dataset.item);  // the latest answer wins locally
    q.push({op_id: newId(), item_id: box.dataset.item, value: value, note: note,
            base_revision: parseInt(box.dataset.revision || "0", 10)});
    save(q);
    box.querySelector(".item-msg").textContent = "";
    setStatus(navigator.onLine ? "pending" : "offline");
    sync();
  }

  function applyServer(box, server) {
    if (!server) return;
    box.dataset.revision = String(server.revision || 0);
  }

  async function sync() {
    const q = load();
    if (!q.length) { setStatus("online"); return; }
    if (syncing) return;
    if (!navigator.onLine) { setStatus("offline"); return; }
    syncing = true;
    try {
      const resp = await fetch("/api/v1/inspections/" + id + "/sync", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf},
        body: JSON.stringify({ops: q}),
      });
      if (!resp.ok) {
        const body = await resp.json().catch(() => ({}));
        statusEl.textContent = body.detail || ("HTTP " + resp.status);
        statusEl.dataset.state = "error";
        return;
      }
      const body = await resp.json();
      const done = new Set();
      for (const r of body.results) {
        const box = root.querySelector('[data-item="' + r.item_id + '"]');
        done.add(r.op_id);
        if (!box) continue;
        const msg = box.querySelector(".item-msg");
        if (r.outcome === "applied" || r.outcome === "duplicate") {
          applyServer(box, r.server);
        } else if (r.outcome === "conflict") {
          applyServer(box, r.server);
          msg.textContent = root.dataset.msgConflict + (r.server && r.server.value ? " (" + r.server.value + ")" : "");
          box.classList.add("conflict");
        } else {
          msg.textContent = r.message;
        }
      }
      // Keep changes made while this request was in flight.
      save(load().filter((op) => !done.has(op.op_id)));
      if (body.score !== null && body.score !== undefined) document.getElementById("score").textContent = body.score;
      setStatus(load().length ? "pending" : "online");
      if (load().length) setTimeout(sync, 0);
    } catch (e) {
      setStatus("offline");
    } finally {
      syncing = false;
    }
  }

  // Restore answers given offline before a reload, then try to send them.
  for (const op of load()) {
    const box = root.querySelector('[data-item="' + op.item_id + '"]');
    if (!box) continue;
    if (box.dataset.type === "pass_fail") {
      const r = box.querySelector('input[type=radio][value="' + op.value + '"]');
      if (r) r.checked = true;
    } else {
      const input = box.querySelector('[name="' + op.item_id + '"]');
      if (input) input.value = op.value === null ? "" : op.value;
    }
    const noteEl = box.querySelector('[name="' + op.item_id + '__note"]');
    if (noteEl) noteEl.value = op.note || "";
  }

  root.addEventListener("change", (ev) => {
    const box = ev.target.closest("[data-item]");
    if (!box || ev.target.type === "file") return;
    queueChange(box);
  });

  root.addEventListener("change", async (ev) => {
    const input = ev.target;
    if (input.type !== "file" || !input.files.length) return;
    const box = input.closest("[data-item]");
    const msg = box.querySelector(".item-msg");
    if (!navigator.onLine) { msg.textContent = root.dataset.msgPhotoOffline; return; }
    const form = new FormData();
    form.append("item_id", input.dataset.photoFor);
    form.append("file", input.files[0]);
    try {
      const resp = await fetch("/api/v1/inspections/" + id + "/photos", {
        method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": root.dataset.csrf}, body: form});
      const body = await resp.json().catch(() => ({}));
      if (!resp.ok) { msg.textContent = body.detail || ("HTTP " + resp.status); return; }
      const img = document.createElement("img");
      img.src = "/api/v1/inspections/" + id + "/photos/" + body.id;
      box.querySelector(".photos").prepend(img);
      input.value = "";
    } catch (e) {
      msg.textContent = root.dataset.msgPhotoOffline;
    }
  });

  window.addEventListener("online", sync);
  window.addEventListener("offline", () => setStatus("offline"));
  setInterval(sync, 15000);
  sync();
})();
