// The one /spectate connection of the page: its state (for the indicator), acknowledged calls, and
// routing of room events (and messages about a room, such as execution:resync) to the feeds
// (rooms.js, executions/feed.js) that watch them. Every (re)connect asks each feed
// to resume from its last seq.

const CALL_TIMEOUT_MS = 8000;
const OFFLINE_AFTER_FAILURES = 3;

export class Connection {
  constructor(io) {
    this.io = io;
    this.socket = null;
    this.state = "connecting";
    this.feeds = new Set();
    this.listeners = new Set();
    this.failures = 0;
    this.kickDelay = 500;
    this.kickTimer = null;
    this.serverOffsetMs = 0; // server clock minus ours, estimated from live events
    this.offsetSamples = [];
  }

  start() {
    const socket = this.io("/spectate", {
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 400,
      reconnectionDelayMax: 4000,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on("connect", () => {
      this.failures = 0;
      this.setState("connected");
      for (const feed of [...this.feeds]) feed.resume();
      // A server that keeps throwing us out right away gets an ever longer pause.
      setTimeout(() => { if (socket.connected) this.kickDelay = 500; }, 10000);
    });
    socket.on("disconnect", (reason) => {
      this.setState(navigator.onLine === false ? "offline" : "reconnecting");
      // After a server-side disconnect socket.io does not reconnect by itself: we do.
      if (reason === "io server disconnect") this.kick();
    });
    socket.on("connect_error", () => {
      this.failures += 1;
      const down = this.failures >= OFFLINE_AFTER_FAILURES || navigator.onLine === false;
      this.setState(down ? "offline" : "reconnecting");
      if (!socket.active) this.kick(); // refused by the server: try again later
    });
    socket.onAny((event, payload) => {
      if (!payload || typeof payload.room !== "string") return;
      if (typeof payload.seq !== "number") {
        // A message about a room that is not one of its events (execution:resync): to its feeds.
        for (const feed of this.feeds) if (feed.room === payload.room && feed.signal) feed.signal(event, payload);
        return;
      }
      this.noteServerTime(payload.at);
      for (const feed of this.feeds) if (feed.room === payload.room) feed.receive(payload);
    });
    window.addEventListener("offline", () => this.setState("offline"));
    window.addEventListener("online", () => {
      if (!socket.connected) {
        this.setState("reconnecting");
        this.kick(0);
      }
    });
  }

  kick(delay = this.kickDelay) {
    clearTimeout(this.kickTimer);
    this.kickTimer = setTimeout(() => {
      if (!this.socket.connected) this.socket.connect();
    }, delay);
    this.kickDelay = Math.min(this.kickDelay * 2, 15000);
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    for (const fn of this.listeners) fn(state);
  }

  onState(fn) {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  /** emit with an ack; resolves with the ack ({ok, data} or {ok: false, error}). */
  call(event, payload, timeoutMs = CALL_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      if (!this.socket) {
        reject(new Error("not connected"));
        return;
      }
      this.socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
        if (err) reject(new Error(`no answer to ${event}`));
        else resolve(ack);
      });
    });
  }

  addFeed(feed) {
    this.feeds.add(feed);
  }

  removeFeed(feed) {
    this.feeds.delete(feed);
  }

  noteServerTime(at) {
    const t = Date.parse(at);
    if (!Number.isFinite(t)) return;
    // An event is stamped before it travels, so each sample is at most the true offset: keep the
    // largest of the recent ones. Good enough for countdowns.
    this.offsetSamples.push(t - Date.now());
    if (this.offsetSamples.length > 20) this.offsetSamples.shift();
    this.serverOffsetMs = Math.max(...this.offsetSamples);
  }

  /** Our best guess of the server's clock now. */
  serverNow() {
    return Date.now() + this.serverOffsetMs;
  }
}
