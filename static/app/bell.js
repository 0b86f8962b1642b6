// The notification bell of a signed-in person (docs/protocol.md, "Notifications"): the unread count
// on the bell, a panel with the latest ones (a click opens what it is about and marks it read; "mark
// all read"), and live updates: the server sends `notification {notification, unread}` to the
// person's private room on /spectate. On every (re)connect the count is fetched again (what arrived
// while the socket was away).

import { getJSON, postJSON } from "./api.js";
import { fill, h, route } from "./dom.js";
import { ago } from "./format.js";
import { icon } from "./icons.js";

const LIMIT = 20;

function target(n) {
  const d = n.data || {};
  if (d.entry_id) return route("entries", d.entry_id);
  if (d.user) return route("users", d.user);
  return null;
}

export function startBell(el, conn) {
  const badge = h("span", { class: "bell-badge", hidden: true });
  const button = h("button", { type: "button", class: "bell-button", "aria-expanded": "false", "aria-haspopup": "true",
    "aria-controls": "bell-panel", title: "Notifications" }, icon("bell", { size: 18 }),
  h("span", { class: "visually-hidden" }, "Notifications"), badge);
  const list = h("ul", { class: "bell-list" });
  const markAll = h("button", { type: "button", class: "link bell-mark-all" }, "Mark all read");
  const panel = h("div", { id: "bell-panel", class: "bell-panel", hidden: true, role: "region", "aria-label": "Notifications" },
    h("div", { class: "bell-panel-head" }, h("strong", {}, "Notifications"), markAll), list);
  fill(el, button, panel);
  el.hidden = false;

  let items = [];
  let unread = 0;

  function setUnread(n) {
    unread = Math.max(0, n);
    badge.hidden = unread === 0;
    badge.textContent = unread > 99 ? "99+" : String(unread);
    el.dataset.unread = String(unread);
    button.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  }

  function draw() {
    if (!items.length) {
      fill(list, h("li", { class: "bell-empty muted" }, "Nothing yet."));
      return;
    }
    fill(list, items.map((n) => {
      const href = target(n);
      const inner = [h("span", { class: "bell-title text" }, n.title), h("span", { class: "bell-message muted text" }, n.message),
        h("span", { class: "bell-time muted" }, ago(n.created_at))];
      return h("li", { class: ["bell-item", !n.read_at && "unread", `priority-${n.priority}`], dataset: { id: n.id, type: n.type } },
        href ? h("a", { href, onclick: () => read(n) }, inner) : h("button", { type: "button", class: "link", onclick: () => read(n) }, inner));
    }));
  }

  let pushes = 0; // live notifications so far: a load they overtook is stale, and runs again
  async function load() {
    for (let tries = 0; tries < 3; tries++) {
      const before = pushes;
      const page = await getJSON("/api/notifications", { limit: LIMIT });
      if (pushes !== before) continue;
      items = page.items;
      setUnread(page.unread);
      draw();
      return;
    }
  }

  async function read(n) {
    if (n.read_at) return close();
    n.read_at = new Date().toISOString();
    draw();
    close();
    try {
      setUnread((await postJSON("/api/notifications/read", { ids: [n.id] })).unread);
    } catch { /* shown unread again at the next load */ }
  }

  function open() {
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    load().catch(() => {});
  }

  function close() {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
  }

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  document.addEventListener("click", (e) => { if (!el.contains(e.target)) close(); });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !panel.hidden) { close(); button.focus(); } });
  markAll.addEventListener("click", async () => {
    try {
      setUnread((await postJSON("/api/notifications/read", { all: true })).unread);
      for (const n of items) n.read_at = n.read_at || new Date().toISOString();
      draw();
    } catch { /* the count stays as it was */ }
  });

  if (conn?.socket) {
    conn.socket.on("notification", (payload) => {
      if (!payload?.notification) return;
      pushes += 1;
      items = [payload.notification, ...items.filter((n) => n.id !== payload.notification.id)].slice(0, LIMIT);
      setUnread(payload.unread);
      draw();
      el.classList.remove("ring");
      void el.offsetWidth; // restart the animation
      el.classList.add("ring");
    });
    conn.socket.on("connect", () => load().catch(() => {}));
  }
  return load().catch(() => {});
}
