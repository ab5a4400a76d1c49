// gcstream live captions: one pane per conversation, fed by Server-Sent Events from /events.
// Plain JavaScript, no build step. Text is inserted with textContent only, never as HTML.
"use strict";

const MAX_CAPTIONS = 50;          // per pane; older captions scroll away
const ENDED_LINGER_MS = 20000;    // an ended conversation stays this long, dimmed, then goes
const SLOW_MS = 5000;             // latency shown in amber above this
const LOW_CONFIDENCE = 0.5;       // confidence shown in red below this
const PII_TAG = /(\[[A-Z][A-Z0-9_]*\])/;

const panes = new Map();          // conversation id -> {root, list, badge, counts, timer}
const totals = { utterances: 0 };

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Caption text with every [TAG] rendered as a PII chip.
function renderText(text) {
  const span = el("span", "text");
  for (const part of String(text).split(PII_TAG)) {
    if (!part) continue;
    span.appendChild(PII_TAG.test(part) ? el("span", "pii", part) : document.createTextNode(part));
  }
  return span;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms >= 1000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms) + " ms";
}

function pane(conv) {
  const id = conv.conversation_id;
  let p = panes.get(id);
  if (p) return p;
  $("empty").hidden = true;
  const root = el("section", "pane");
  root.dataset.conversationId = id;
  const head = el("div", "pane-head");
  const left = el("div");
  left.appendChild(el("span", "cid", id.slice(0, 8)));
  head.appendChild(left);
  const counts = el("span", "counts");
  const badge = el("span", "badge active", "live");
  const right = el("div");
  right.append(counts, " ", badge);
  head.appendChild(right);
  const list = el("ol", "captions");
  root.append(head, list);
  $("panes").appendChild(root);
  p = { root, list, badge, counts, timer: null };
  panes.set(id, p);
  return p;
}

function updateConversation(conv) {
  const p = pane(conv);
  const ended = conv.status === "ended";
  p.root.classList.toggle("ended", ended);
  p.root.dataset.status = conv.status;
  p.badge.className = "badge " + (ended ? "ended" : "active");
  p.badge.textContent = ended ? "ended" : "live";
  p.counts.textContent = `${conv.utterances} utt · ${conv.pii} PII · ${conv.flags} flagged`;
  if (ended && !p.timer) {
    p.timer = setTimeout(() => removePane(conv.conversation_id), ENDED_LINGER_MS);
  } else if (!ended && p.timer) {
    clearTimeout(p.timer);
    p.timer = null;
  }
}

function removePane(id) {
  const p = panes.get(id);
  if (!p) return;
  p.root.classList.add("leaving");
  setTimeout(() => {
    p.root.remove();
    panes.delete(id);
    if (panes.size === 0) $("empty").hidden = false;
  }, 600);
}

function captionNode(c) {
  const li = el("li", `caption ${c.speaker} ${c.final ? "final" : "partial"}`);
  li.dataset.utteranceId = c.utterance_id;
  li.dataset.state = c.final ? "final" : "partial";
  li.dataset.speaker = c.speaker;
  li.appendChild(el("span", `who ${c.speaker}`, c.speaker));
  li.appendChild(renderText(c.text));
  const meta = el("span", "meta");
  const lat = el("span", "lat", "latency " + fmtMs(c.latency_ms));
  if (c.latency_ms > SLOW_MS) lat.classList.add("slow");
  const conf = el("span", "conf", "conf " + Number(c.confidence).toFixed(2));
  if (c.confidence < LOW_CONFIDENCE) conf.classList.add("low");
  meta.append(lat, conf);
  for (const f of c.flags || []) meta.appendChild(el("span", "flag", f));
  li.appendChild(meta);
  return li;
}

function showCaption(c) {
  const p = pane({ conversation_id: c.conversation_id, status: "active" });
  const atBottom = p.list.scrollHeight - p.list.scrollTop - p.list.clientHeight < 40;
  const node = captionNode(c);
  const old = p.list.querySelector(`li[data-utterance-id="${CSS.escape(c.utterance_id)}"]`);
  if (old) {
    old.replaceWith(node);
  } else {
    p.list.appendChild(node);
    while (p.list.children.length > MAX_CAPTIONS) p.list.firstElementChild.remove();
  }
  if (atBottom) p.list.scrollTop = p.list.scrollHeight;
}

function snapshot(ev) {
  for (const id of [...panes.keys()]) {
    panes.get(id).root.remove();
    panes.delete(id);
  }
  $("empty").hidden = ev.conversations.length > 0;
  for (const conv of ev.conversations) {
    updateConversation(conv);
    for (const c of conv.captions) showCaption(c);
  }
}

function notice(ev) {
  const li = el("li", null, `${new Date().toLocaleTimeString()} ${ev.kind}: ${ev.detail || ""}`);
  const list = $("notices");
  list.prepend(li);
  while (list.children.length > 50) list.lastElementChild.remove();
}

function sum(obj) {
  return Object.values(obj || {}).reduce((a, b) => a + b, 0);
}

function stats(ev) {
  $("s-active").textContent = ev.active;
  $("s-utterances").textContent = (ev.records && ev.records.utterance) || 0;
  const l = ev.latency_ms || {};
  $("s-latency").textContent = l.p50 === null || l.p50 === undefined
    ? "–" : `${fmtMs(l.p50)} / ${fmtMs(l.p95)} / ${fmtMs(l.p99)}`;
  const pii = ev.pii || {};
  const kinds = Object.keys(pii).sort().map((k) => `${k} ${pii[k]}`).join(", ");
  $("s-pii").textContent = sum(pii) + (kinds ? ` (${kinds})` : "");
  $("s-flags").textContent = sum(ev.flags);
  $("s-rejected").textContent = (ev.records && ev.records.rejected) || 0;
}

function handle(ev) {
  switch (ev.type) {
    case "snapshot": snapshot(ev); break;
    case "conversation": updateConversation(ev.conversation); break;
    case "partial": showCaption(ev.caption); break;
    case "final":
      showCaption(ev.caption);
      if (ev.conversation) updateConversation(ev.conversation);
      break;
    case "notice": notice(ev); break;
    case "stats": stats(ev); break;
  }
}

function connect() {
  const dot = $("conn");
  const source = new EventSource("/events");
  source.onopen = () => { dot.className = "dot live"; dot.title = "live"; };
  source.onerror = () => { dot.className = "dot down"; dot.title = "reconnecting"; };
  source.onmessage = (m) => {
    try {
      handle(JSON.parse(m.data));
    } catch (err) {
      console.error("bad caption event", err);
    }
  };
}

connect();
