// A live battle: `#/battle/<room code or id>`. A snapshot, then room events exactly once and in
// order (rooms.js); the same renderer as the replay.

import { ApiError, getJSON, resolveBattle } from "../api.js";
import { applyEvent, fromSnapshot } from "../battle/state.js";
import { followTurns } from "../battle/follow.js";
import { battleView } from "../battle/render.js";
import { every, fill, h, problemCard, route } from "../dom.js";
import { RoomFeed } from "../rooms.js";

function toolbar(state) {
  const b = state?.battle;
  return [
    h("a", { class: "back", href: "#/" }, "← Lobby"),
    b && b.status === "COMPLETED" ? h("a", { class: "button small", href: route("replay", b.id) }, "Watch the replay") : null,
  ];
}

function problem(root, title, text) {
  problemCard(root, title, text, ["#/", "Back to the lobby"]);
}

export async function mount(root, [ref], { conn }) {
  document.title = `Agent Arena · ${ref}`;
  root.append(h("p", { class: "loading" }, "Loading the battle…"));
  let battleId;
  try {
    battleId = await resolveBattle(ref);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
      problem(root, "No such battle", `There is no battle with the room code “${ref}”.`);
    } else {
      problem(root, "The battle cannot be loaded", err.message);
    }
    return null;
  }
  const bar = h("nav", { class: "toolbar", "aria-label": "Battle" });
  const view = battleView({ live: Boolean(conn), conn });
  let state = null;

  function show() {
    fill(bar, toolbar(state));
    document.title = `Agent Arena · ${state.battle.topic}`;
    view.update(state);
  }

  if (!conn) {
    // Without the client library: the battle as it is now, no live updates (the notice says why).
    try {
      state = fromSnapshot(await getJSON(`/api/battles/${encodeURIComponent(battleId)}`));
    } catch (err) {
      problem(root, "The battle cannot be loaded", err.message);
      return null;
    }
    fill(root, bar, view.el);
    show();
    return null;
  }

  // Keeps the newest turn in view while the reader is at the end of the transcript.
  const follow = followTurns(view.transcript, view.turns);
  const showLive = () => {
    show();
    follow.update(state.turns.length, state.battle.status === "IN_PROGRESS");
  };
  const feed = new RoomFeed(conn, {
    room: `battle:${battleId}`,
    watch: (since, snapshotOnly) =>
      ["battle:watch", { battle_id: battleId, since_seq: since, snapshot_only: snapshotOnly }],
    onSnapshot: (snapshot, seq) => {
      state = fromSnapshot(snapshot, seq);
      fill(root, bar, view.el, follow.pill);
      showLive();
    },
    onEvent: (ev) => {
      applyEvent(state, ev);
      showLive();
      if (ev.type === "battle:turn_audio") view.audioReady(ev.data);
    },
    onError: (err) => {
      if (!state) problem(root, "The battle cannot be watched", err.message);
    },
  }).start();
  const stopTicking = every(250, () => state && view.tick());
  return () => {
    stopTicking();
    feed.stop();
    follow.stop();
    view.stop();
  };
}
