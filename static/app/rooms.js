// Watching one room exactly once and in order (docs/protocol.md, "Rooms, seq and resuming").
//
// A feed keeps the room's last applied seq. A live event with seq <= last_seq is dropped; seq ==
// last_seq + 1 is applied (then anything buffered that now follows); a later seq is buffered, and
// if the gap is still open after GAP_MS the feed watches again with since_seq = last_seq. On every
// (re)connect the connection calls resume(): the first watch gives a snapshot, later ones give the
// events after last_seq, which go through the same receive() as live events.

const GAP_MS = 1000;
const RETRY_MS = 2000;
const WATCH_PAGE = 1000; // the server sends at most this many events per watch

export class RoomFeed {
  /**
   * @param conn     a Connection (or anything with call/addFeed/removeFeed/connected)
   * @param options  room: "<kind>:<id>";
   *                 watch(sinceSeq, snapshotOnly) -> [event, payload] of the watch call (default room:watch);
   *                 onSnapshot(snapshot, lastSeq), onEvent(event), onError(error) callbacks.
   */
  constructor(conn, { room, watch, onSnapshot, onEvent, onError }) {
    this.conn = conn;
    this.room = room;
    this.watchCall = watch ||
      ((since, snapshotOnly) => ["room:watch", { room, since_seq: since, snapshot_only: snapshotOnly }]);
    this.onSnapshot = onSnapshot || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onError = onError || (() => {});
    this.lastSeq = null; // null until the first snapshot
    this.buffer = new Map();
    this.gapTimer = null;
    this.retryTimer = null;
    this.inflight = false;
    this.again = false;
    this.stopped = false;
  }

  start() {
    this.conn.addFeed(this);
    if (this.conn.connected) this.resume();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.gapTimer);
    clearTimeout(this.retryTimer);
    this.conn.removeFeed(this);
    if (this.conn.connected) this.conn.call("room:unwatch", { room: this.room }).catch(() => {});
  }

  /** Watch (again) from the last applied seq. Safe to call at any time; calls do not overlap. */
  async resume() {
    if (this.stopped) return;
    if (this.inflight) {
      this.again = true;
      return;
    }
    this.inflight = true;
    try {
      do {
        this.again = false;
        const since = this.lastSeq ?? 0;
        // The first watch needs only the snapshot; later ones need the events after last_seq.
        const [event, payload] = this.watchCall(since, this.lastSeq === null);
        const ack = await this.conn.call(event, payload);
        if (this.stopped) return;
        if (!ack || !ack.ok) {
          this.onError(ack?.error || { code: "internal", message: "no answer" });
          return;
        }
        const data = ack.data;
        if (this.lastSeq === null) {
          this.lastSeq = data.last_seq;
          this.onSnapshot(data.snapshot, data.last_seq);
        } else {
          for (const ev of data.events) this.receive(ev);
          const last = data.events.length ? data.events[data.events.length - 1].seq : since;
          if (data.events.length >= WATCH_PAGE && last < data.last_seq) this.again = true;
        }
        this.drain();
      } while (this.again && !this.stopped);
    } catch {
      // No answer. Disconnected: the next connect resumes. Still connected (a slow server): retry.
      this.retryTimer = setTimeout(() => this.conn.connected && this.resume(), RETRY_MS);
    } finally {
      this.inflight = false;
    }
  }

  /** A message about the room that is not one of its events. `room:resync`: this socket fell too
   * far behind and the server took it out of the room's live stream; watching again from the last
   * applied seq puts it back, with what it missed. */
  signal(event) {
    if (event === "room:resync") this.resume();
  }

  /** One event, live or from a watch answer. */
  receive(ev) {
    if (this.stopped || ev.room !== this.room) return;
    if (this.lastSeq === null || ev.seq > this.lastSeq + 1) {
      this.buffer.set(ev.seq, ev); // before the snapshot, or after a gap
      if (this.lastSeq !== null) this.watchGap();
      return;
    }
    if (ev.seq <= this.lastSeq) return; // already applied
    this.apply(ev);
    this.drain();
  }

  apply(ev) {
    this.lastSeq = ev.seq;
    try {
      this.onEvent(ev);
    } catch (err) {
      console.error("could not show event", ev.type, ev.seq, err); // eslint-disable-line no-console
    }
  }

  drain() {
    if (this.lastSeq === null) return;
    for (const seq of [...this.buffer.keys()]) if (seq <= this.lastSeq) this.buffer.delete(seq);
    while (this.buffer.has(this.lastSeq + 1)) {
      const ev = this.buffer.get(this.lastSeq + 1);
      this.buffer.delete(ev.seq);
      this.apply(ev);
    }
    if (this.buffer.size === 0) {
      clearTimeout(this.gapTimer);
      this.gapTimer = null;
    } else {
      this.watchGap();
    }
  }

  watchGap() {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => {
      this.gapTimer = null;
      if (this.buffer.size && this.conn.connected) this.resume();
    }, GAP_MS);
  }
}
