// Spoken turns: one <audio> element plays a turn's audio when its button is pressed, and, in a live
// battle with "Read aloud" on, each turn's audio as it becomes ready, one after another.

import { h } from "../dom.js";

export function turnVoice() {
  const player = h("audio", { class: "turn-player", preload: "none", hidden: true });
  const queue = []; // [{turn, url}] waiting to be read aloud
  let readAloud = false;
  const heard = new Set(); // turns read aloud already (an event replayed after a resync is not read twice)
  let playing = null; // the turn number now playing
  let current = 0; // which start() the player's events and play() outcome belong to
  const listeners = new Set();

  const notify = () => listeners.forEach((fn) => fn(playing));

  function start(turn, url) {
    const mine = ++current;
    playing = turn;
    player.src = url;
    player.dataset.turn = String(turn);
    notify();
    // A play() cut short by the next start() rejects (AbortError): only this start's failure moves on.
    player.play().catch(() => mine === current && next());
  }

  function next() {
    current++;
    playing = null;
    const item = queue.shift();
    if (item) start(item.turn, item.url);
    else notify();
  }

  // "error" and a rejected play() can both report one broken file: the first one moves on.
  const ended = () => playing !== null && next();
  player.addEventListener("ended", ended);
  player.addEventListener("error", () => player.getAttribute("src") && ended());

  return {
    el: player,
    /** Play (or stop) one turn's audio now: a press of its button. */
    toggle(turn, url) {
      queue.length = 0;
      if (playing === turn && !player.paused) {
        current++;
        player.pause();
        playing = null;
        notify();
        return;
      }
      start(turn, url);
    },
    /** A turn's audio is ready (battle:turn_audio): read it when reading aloud. */
    ready(turn, url) {
      if (!readAloud || !url || heard.has(turn)) return;
      heard.add(turn);
      if (playing === null) start(turn, url);
      else queue.push({ turn, url });
    },
    setReadAloud(on) {
      readAloud = on;
      if (!on) {
        queue.length = 0;
        current++;
        player.pause();
        playing = null;
        notify();
      }
    },
    get readAloud() {
      return readAloud;
    },
    onChange(fn) {
      listeners.add(fn);
    },
    stop() {
      queue.length = 0;
      current++;
      player.pause();
      player.removeAttribute("src");
    },
  };
}
