// Boot: load the socket.io client (it may be missing), open the connection, start the router.

import { currentUser } from "./api.js";
import { startBell } from "./bell.js";
import { Connection } from "./connection.js";
import { fill, h } from "./dom.js";
import { startRouter } from "./router.js";

const CLIENT_URL = "/vendor/socket.io.esm.min.js";
const STATE_TEXT = { connecting: "connecting", connected: "connected", reconnecting: "reconnecting…", offline: "offline" };

async function loadClient() {
  try {
    const mod = await import(CLIENT_URL);
    return mod.io;
  } catch {
    return null; // not installed (npm ci was not run): the page still works, without live updates
  }
}

function showIndicator(state, title) {
  const el = document.getElementById("conn");
  if (!el) return; // the page is being torn down (a socket event can still arrive meanwhile)
  el.dataset.state = state;
  el.querySelector(".conn-text").textContent = STATE_TEXT[state] || state;
  el.title = title || `Live connection: ${STATE_TEXT[state] || state}`;
}

function showMissingClient() {
  const notice = document.getElementById("notice");
  fill(notice,
    h("strong", {}, "Live updates are off. "),
    "The live view needs its client library: install Node.js, then run ",
    h("code", {}, "npm ci --prefix static"),
    " and reload.");
  notice.hidden = false;
}

function notFound(root) {
  fill(root, h("section", { class: "card problem" }, h("h1", {}, "Page not found"),
    h("p", {}, h("a", { href: "#/" }, "Go to the lobby"))));
}

function loadError(root) {
  fill(root, h("section", { class: "card problem" }, h("h1", {}, "This page could not be loaded"),
    h("p", {}, "Check your connection and reload.")));
}

async function boot() {
  const io = await loadClient();
  let conn = null;
  if (io) {
    conn = new Connection(io);
    conn.onState((state) => showIndicator(state));
    conn.start();
  } else {
    showIndicator("offline", "The live client library is not installed");
    showMissingClient();
  }
  window.arena = { conn }; // for the curious (and the browser tests)
  // A signed-in person gets the notification bell (no session: no bell, and no 401 asked for).
  currentUser().then((me) => me && startBell(document.getElementById("bell"), conn));
  // The skip link focuses the content without touching the hash (the hash is the route).
  document.querySelector(".skip").addEventListener("click", (e) => {
    e.preventDefault();
    document.getElementById("main").focus();
  });
  await startRouter(document.getElementById("main"), { conn }, { renderNotFound: notFound, renderError: loadError });
}

boot();
