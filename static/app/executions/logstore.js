// The log lines of one execution, kept compact: 100,000 lines are a few typed arrays and one array
// of message strings, not 100,000 objects. Lines are kept in seq order, each seq once.

export const LEVELS = ["debug", "info", "warning", "error", "critical"];
const LEVEL_INDEX = new Map(LEVELS.map((name, i) => [name, i]));

function grow(array, size) {
  const next = new array.constructor(Math.max(size, array.length * 2));
  next.set(array);
  return next;
}

export class LogStore {
  constructor() {
    this.length = 0;
    this.lastSeq = 0;
    this.seq = new Float64Array(1024); // seqs fit a double exactly up to 2^53
    this.level = new Uint8Array(1024);
    this.time = new Float64Array(1024); // ms since the epoch
    this.message = [];
    this.step = []; // step id or null; equal ids share one string
    this.meta = new Map(); // index -> metadata, for the lines that have any
    this.steps = new Map();
  }

  /** Append lines (in seq order); a line at or below the last seq is a duplicate and skipped. Returns the number added. */
  append(lines) {
    let added = 0;
    for (const line of lines || []) {
      if (!(line.seq > this.lastSeq)) continue;
      const i = this.length;
      if (i >= this.seq.length) {
        this.seq = grow(this.seq, i + 1);
        this.level = grow(this.level, i + 1);
        this.time = grow(this.time, i + 1);
      }
      this.seq[i] = line.seq;
      this.level[i] = LEVEL_INDEX.get(line.level) ?? 1;
      this.time[i] = Date.parse(line.at) || 0;
      this.message.push(typeof line.message === "string" ? line.message : String(line.message ?? ""));
      let step = null;
      if (line.step_id !== null && line.step_id !== undefined) {
        const id = String(line.step_id);
        step = this.steps.get(id);
        if (step === undefined) this.steps.set(id, (step = id));
      }
      this.step.push(step);
      if (line.metadata && typeof line.metadata === "object" && Object.keys(line.metadata).length) {
        this.meta.set(i, line.metadata);
      }
      this.length = i + 1;
      this.lastSeq = line.seq;
      added += 1;
    }
    return added;
  }

  line(i) {
    return {
      seq: this.seq[i], level: LEVELS[this.level[i]], message: this.message[i], step_id: this.step[i],
      at: this.time[i], metadata: this.meta.get(i) || null,
    };
  }
}
