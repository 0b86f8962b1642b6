// Watching one execution (docs/protocol.md, "Executions", "Watching"): its state, and every log line
// exactly once and in seq order.
//
// One counter numbers the room events (status, step, thought, artifact, ...) and the log lines; a
// live `execution:log` event covers the seqs from_seq..to_seq (its own `seq` is to_seq). The feed
// keeps `lastSeq`: everything up to it is applied. An event that starts at lastSeq + 1 is applied; a
// later one is buffered and, if the gap is still open after GAP_MS, the feed watches again.
//
// Every watch (the first one, after a reconnect, after an `execution:resync`, to fill a gap) asks
// from `linesThrough`, the seq up to which every log line is stored. The answer's snapshot replaces
// the state (it is the state at the answer's last_seq); its lines and, while `more`, pages of
// `execution:logs` complete the log; live events that arrive meanwhile wait in the buffer and are
// applied after it, from last_seq. Lines are deduplicated by seq (the LogStore keeps increasing seqs
// only) and applying a state event twice changes nothing (executions/state.js upserts), so an overlap
// between an answer and the live events is harmless.
//
// The watch is at min_level "debug": the level filter is the page's own (executions/logview.js), so
// every seq of the room reaches the feed and a gap is always a real one.

const GAP_MS = 1000;
const RETRY_MS = 2000;
const PAGE_LINES = 5000; // execution:logs allows up to 5000 a page
// Errors that watching again will not cure: the execution does not exist (or is private).
const FATAL = new Set(["execution.not_found", "validation.failed", "room.not_found", "event.unknown"]);

const firstSeq = (ev) => (ev.type === "execution:log" && Number.isInteger(ev.data?.from_seq) ? ev.data.from_seq : ev.seq);

export class ExecutionFeed {
  /**
   * @param conn         a Connection (call/addFeed/removeFeed/connected)
   * @param executionId  the execution's id
   * @param callbacks    onSnapshot(snapshot, lastSeq): the whole state, on every watch;
   *                     onEvent(event): a status, step, thought, artifact, cancelling or ended event;
   *                     onLines(lines): log lines in seq order (possibly some already seen: dedupe);
   *                     onBacklog({loading, through, last}): progress of a long backlog;
   *                     onError(error): the execution cannot be watched (not found, private).
   */
  constructor(conn, executionId, { onSnapshot, onEvent, onLines, onBacklog, onError } = {}) {
    this.conn = conn;
    this.executionId = executionId;
    this.room = `execution:${executionId}`;
    this.onSnapshot = onSnapshot || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onLines = onLines || (() => {});
    this.onBacklog = onBacklog || (() => {});
    this.onError = onError || (() => {});
    this.lastSeq = null; // null until the first watch has been answered (and its backlog read)
    this.linesThrough = 0;
    this.buffer = new Map(); // first seq -> event
    this.syncing = false;
    this.inflight = false;
    this.again = false;
    this.stopped = false;
    this.gapTimer = null;
    this.retryTimer = null;
    this.stats = { watches: 0, pages: 0, resyncs: 0 }; // for the curious (and the browser tests)
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

  /** A message about the room that is not one of its events. */
  signal(event) {
    if (event === "execution:resync") {
      // The server stopped sending us live events (we fell behind): watch again from what we have.
      this.stats.resyncs += 1;
      this.resume();
    }
  }

  /** Watch (again) from the last stored line. Safe to call at any time; calls do not overlap. */
  async resume() {
    if (this.stopped) return;
    if (this.inflight) {
      this.again = true;
      return;
    }
    this.inflight = true;
    this.syncing = true; // live events wait in the buffer until the answer and its backlog are in
    clearTimeout(this.retryTimer);
    try {
      do {
        this.again = false;
        if (!(await this.watchOnce())) return;
      } while (this.again && !this.stopped);
      this.syncing = false;
      this.drain();
    } catch {
      // No answer. Disconnected: the next connect resumes. Still connected (a slow server): retry.
      this.retryTimer = setTimeout(() => this.conn.connected && this.resume(), RETRY_MS);
    } finally {
      this.inflight = false;
    }
  }

  /** One watch and the rest of its backlog; false when it failed (and a retry is arranged). */
  async watchOnce() {
    this.stats.watches += 1;
    const ack = await this.conn.call("execution:watch", { execution_id: this.executionId, since_seq: this.linesThrough });
    if (this.stopped) return false;
    if (!ack || !ack.ok) return this.failed(ack?.error);
    const d = ack.data;
    this.onSnapshot(d.snapshot, d.last_seq);
    this.onLines(d.lines);
    let { more } = d;
    let after = d.next_after;
    this.linesThrough = Math.max(this.linesThrough, more ? after : d.last_seq);
    while (more) {
      this.onBacklog({ loading: true, through: after, last: d.last_seq });
      this.stats.pages += 1;
      const page = await this.conn.call("execution:logs", { execution_id: this.executionId, after, limit: PAGE_LINES });
      if (this.stopped) return false;
      if (!page || !page.ok) return this.failed(page?.error);
      this.onLines(page.data.lines);
      ({ more } = page.data);
      after = page.data.next_after;
      this.linesThrough = Math.max(this.linesThrough, after);
    }
    this.onBacklog({ loading: false, through: this.linesThrough, last: d.last_seq });
    this.lastSeq = Math.max(this.lastSeq ?? 0, d.last_seq);
    return true;
  }

  failed(error) {
    const err = error || { code: "internal", message: "no answer" };
    if (FATAL.has(err.code)) {
      this.onError(err);
      return false;
    }
    // rate_limited, service.unavailable, ...: try again after the delay the server asks for.
    const after = Number(err.details?.retry_after);
    const wait = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 30000) : RETRY_MS;
    this.retryTimer = setTimeout(() => this.conn.connected && this.resume(), wait);
    return false;
  }

  /** One room event, live. */
  receive(ev) {
    if (this.stopped || ev.room !== this.room) return;
    if (this.lastSeq !== null && ev.seq <= this.lastSeq) return; // already applied
    const start = firstSeq(ev);
    if (this.lastSeq === null || this.syncing || start > this.lastSeq + 1) {
      this.buffer.set(start, ev); // before the first answer, while watching, or after a gap
      if (this.lastSeq !== null && !this.syncing) this.watchGap();
      return;
    }
    this.apply(ev);
    this.drain();
  }

  apply(ev) {
    this.lastSeq = ev.seq;
    this.linesThrough = Math.max(this.linesThrough, ev.seq);
    try {
      if (ev.type === "execution:log") this.onLines(ev.data?.lines || []);
      else this.onEvent(ev);
    } catch (err) {
      console.error("could not show event", ev.type, ev.seq, err); // eslint-disable-line no-console
    }
  }

  drain() {
    if (this.lastSeq === null || this.syncing) return;
    const starts = [...this.buffer.keys()].sort((a, b) => a - b);
    for (const start of starts) {
      const ev = this.buffer.get(start);
      if (ev.seq <= this.lastSeq) {
        this.buffer.delete(start);
        continue;
      }
      if (start > this.lastSeq + 1) break;
      this.buffer.delete(start);
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
