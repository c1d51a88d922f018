// The desk's keys, saving and drag and drop. Plain JavaScript, no build step.
// Every change is a POST with the page's CSRF token; the server answers JSON.
"use strict";
const CSRF = document.querySelector('meta[name="csrf"]').content;
const flash = (text, error) => {
  const el = document.getElementById("flash");
  el.textContent = text;
  el.className = error ? "error" : "";
};

async function post(url, data) {
  const body = data instanceof FormData ? data : new URLSearchParams(data || {});
  const response = await fetch(url, {method: "POST", body, credentials: "same-origin",
    headers: {"X-CSRF-Token": CSRF, "Accept": "application/json"}});
  const payload = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) { flash(payload.error || "failed", true); throw new Error(payload.error); }
  return payload;
}

// --- items: the queue (one card at a time) and an item's own page -------------
const page = document.body.dataset.page;
const cards = () => [...document.querySelectorAll("#queue .card")];
const current = () => document.querySelector("#queue .card.current");

function show(card) {
  cards().forEach(c => c.classList.toggle("current", c === card));
  document.querySelectorAll("audio").forEach(a => { if (!card || !card.contains(a)) a.pause(); });
  if (card && page === "queue") card.scrollIntoView({block: "nearest"});
}

function step(delta) {
  const all = cards(), at = all.indexOf(current());
  const next = all[Math.max(0, Math.min(all.length - 1, at + delta))];
  if (next) show(next);
}

function update(card, item) {
  card.dataset.status = item.status;
  card.querySelector('[data-field="status"]').textContent = item.status;
  card.querySelector('[data-field="kind"]').textContent = item.kind;
  card.querySelector('[data-field="text"]').textContent = item.edited_text || item.text;
  card.querySelector('[data-field="diff"]').innerHTML = item.diff;  // built and escaped by the server
  card.querySelector(".edited").hidden = !item.edited_text;
  card.querySelector("form.revert").hidden = !item.edited_text;
  card.querySelector(".editor textarea").value = item.edited_text || item.text;
}

// A decided card leaves the queue; when the page runs out, the next page loads
// (decisions are saved, so the server's queue starts where we are).
function leave(card) {
  if (page !== "queue") return;
  const all = cards(), at = all.indexOf(card);
  const next = all[at + 1] || all[at - 1];
  card.remove();
  const count = document.getElementById("pending-count");
  if (count) count.textContent = Math.max(0, parseInt(count.textContent, 10) - 1);
  if (next) show(next); else location.reload();
}

async function act(card, action, data) {
  const item = await post(`/items/${card.dataset.id}/${action}`, data);
  update(card, item);
  flash(`#${item.id} ${action === "skip" ? "skipped" : item.status}`);
  if (["approve", "reject", "skip"].includes(action)) leave(card);
  return item;
}

function edit(card) {
  const form = card.querySelector(".editor");
  form.hidden = false;
  const area = form.querySelector("textarea");
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

async function saveEdit(card) {
  const form = card.querySelector(".editor");
  await act(card, "edit", {text: form.querySelector("textarea").value});
  form.hidden = true;
}

function play(card) {
  const audio = card.querySelector("audio");
  if (!audio) return;
  const start = parseFloat(card.dataset.start || "0") || 0;
  const go = () => { audio.currentTime = start; audio.play().catch(() => {}); };
  if (audio.readyState >= 1) go(); else { audio.preload = "metadata"; audio.addEventListener("loadedmetadata", go, {once: true}); audio.load(); }
}

async function addToCollection(form) {
  const data = new FormData(form);
  const result = await post(`/collections/${data.get("collection")}/add`, data);
  flash(result.added ? `added ${result.added} to the collection` : "already in the collection");
  form.querySelectorAll('input[type=checkbox]:checked').forEach(box => { box.checked = false; });
}

const KEYS = {
  a: card => act(card, "approve"), r: card => act(card, "reject"), s: card => act(card, "skip"),
  k: card => act(card, "kind"), v: card => act(card, "revert"), e: edit, p: play,
  c: card => { const f = card.querySelector("form[data-collection-add]"); return f && addToCollection(f); },
  j: () => step(1), ArrowDown: () => step(1), ArrowUp: () => step(-1),
};

document.addEventListener("keydown", event => {
  const card = current();
  if (!card || event.altKey || event.metaKey) return;
  const inEditor = event.target.closest && event.target.closest(".editor");
  if (inEditor) {
    if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); saveEdit(card).catch(() => {}); }
    if (event.key === "Escape") { inEditor.hidden = true; event.target.blur(); }
    return;
  }
  if (event.ctrlKey || ["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName)) return;
  const handler = KEYS[event.key];
  if (handler) { event.preventDefault(); Promise.resolve(handler(card)).catch(() => {}); }
});

document.addEventListener("click", event => {
  const button = event.target.closest("button[data-key]");
  const card = button && button.closest(".card");
  if (!card) return;
  event.preventDefault();
  show(card);
  Promise.resolve(KEYS[button.dataset.key](card)).catch(() => {});
});

document.addEventListener("submit", event => {
  const form = event.target;
  const card = form.closest(".card");
  if (form.classList.contains("editor") && card) { event.preventDefault(); saveEdit(card).catch(() => {}); }
  else if (form.matches("[data-collection-add]")) { event.preventDefault(); addToCollection(form).catch(() => {}); }
});

document.addEventListener("click", event => {
  if (event.target.matches(".editor .cancel")) event.target.closest(".editor").hidden = true;
});

// --- collections: drag and drop to reorder ---------------------------------------
const list = document.getElementById("collection-items");
if (list) {
  let dragged = null;
  list.addEventListener("dragstart", event => {
    dragged = event.target.closest("li[data-id]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });
  list.addEventListener("dragover", event => {
    const over = event.target.closest("li[data-id]");
    if (!dragged || !over) return;
    event.preventDefault();
    list.querySelectorAll(".over").forEach(li => li.classList.remove("over"));
    if (over !== dragged) over.classList.add("over");
  });
  list.addEventListener("drop", async event => {
    const over = event.target.closest("li[data-id]");
    if (!dragged || !over || over === dragged) return;
    event.preventDefault();
    const items = [...list.querySelectorAll("li[data-id]")];
    const to = items.indexOf(over);
    if (items.indexOf(dragged) < to) over.after(dragged); else over.before(dragged);
    const result = await post(`/collections/${list.dataset.collection}/move`,
                              {item_id: dragged.dataset.id, position: to + 1});
    flash(`moved to position ${result.position}`);
  });
  list.addEventListener("dragend", () => {
    list.querySelectorAll(".over,.dragging").forEach(li => li.classList.remove("over", "dragging"));
    dragged = null;
  });
}
