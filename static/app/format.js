// Words and numbers as people read them.

export const MODES = { HEAD_TO_HEAD: "Head-to-head", TEAM: "Teams", FREE_FOR_ALL: "Free-for-all" };

export const STATUSES = {
  LOBBY: "Waiting for fighters",
  STARTING: "Starting",
  IN_PROGRESS: "Live",
  VOTING: "Voting",
  JUDGING: "Judging",
  COMPLETED: "Finished",
  CANCELLED: "Cancelled",
};

export const DECIDED_BY = { votes: "by the audience's votes", judge: "by the judge", forfeit: "by forfeit" };

export const isLiveStatus = (status) => ["LOBBY", "STARTING", "IN_PROGRESS", "VOTING", "JUDGING"].includes(status);

export function agentName(agent) {
  if (!agent) return null;
  return agent.display_name || agent.name;
}

/** "alice" or, while identities are hidden, "Fighter A". */
export function seatLabel(participant, seat) {
  const name = participant && agentName(participant.agent);
  return name || `Fighter ${seat || participant?.seat || "?"}`;
}

export function rating(value) {
  return value === null || value === undefined ? "–" : String(Math.round(value));
}

export function signed(value) {
  const n = Math.round(value);
  return (n > 0 ? "+" : n < 0 ? "−" : "±") + Math.abs(n);
}

export function seconds(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 100) return "<0.1 s";
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** 75 000 ms -> "1:15" */
export function clock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const sec = String(total % 60).padStart(2, "0");
  return `${m}:${sec}`;
}

export function ago(iso) {
  if (!iso) return "";
  const diff = (Date.now() - Date.parse(iso)) / 1000;
  if (diff < 45) return "just now";
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.round(diff / 3600)} h ago`;
  return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

export function plural(n, one, many = one + "s") {
  return `${n} ${n === 1 ? one : many}`;
}

export const SEATS = "ABCDEFGH";

// Executions (docs/protocol.md, "Executions").

export const EXEC_STATUSES = {
  planned: "Planned",
  running: "Running",
  validating: "Validating",
  correcting: "Correcting",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const STEP_STATUSES = {
  pending: "Pending",
  running: "Running",
  validating: "Validating",
  correcting: "Correcting",
  completed: "Completed",
  failed: "Failed",
  skipped: "Skipped",
};

export const isExecEnded = (status) => ["completed", "failed", "cancelled"].includes(status);
export const isExecActive = (status) => ["running", "validating", "correcting"].includes(status);

/** 1 234 567 ms -> "20 min 35 s"; short ones as seconds(). */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 60000) return seconds(Math.max(0, ms));
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h ? `${h} h ${m} min` : `${m} min ${sec} s`;
}

export function count(n) {
  return n.toLocaleString("en-US");
}
