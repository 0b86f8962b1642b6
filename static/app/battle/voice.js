// Spoken turns: one <audio> element plays a turn's audio when its button is pressed, and, in a live
// battle with "Read aloud" on, each turn's audio as it becomes ready, one after another.

import { h } from "../dom.js";

export function turnVoice() {
  const player = h("audio", { class: "turn-player", preload: "none", hidden: true });
  const queue = []; // [{turn, url}] waiting to be read aloud
  let readAloud = false;
  let playing = null; // the turn number now playing
  const listeners = new Set();

  const notify = () => listeners.forEach((fn) => fn(playing));

  function start(turn, url) {
    playing = turn;
    player.src = url;
    player.dataset.turn = String(turn);
    notify();
    player.play().catch(() => next());
  }

  function next() {
    playing = null;
    const item = queue.shift();
    if (item) start(item.turn, item.url);
    else notify();
  }

  player.addEventListener("ended", next);
  player.addEventListener("error", next);

  return {
    el: player,
    /** Play (or stop) one turn's audio now: a press of its button. */
    toggle(turn, url) {
      queue.length = 0;
      if (playing === turn && !player.paused) {
        player.pause();
        playing = null;
        notify();
        return;
      }
      start(turn, url);
    },
    /** A turn's audio is ready (battle:turn_audio): read it when reading aloud. */
    ready(turn, url) {
      if (!readAloud || !url) return;
      if (playing === null) start(turn, url);
      else queue.push({ turn, url });
    },
    setReadAloud(on) {
      readAloud = on;
      if (!on) {
        queue.length = 0;
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
      player.pause();
      player.removeAttribute("src");
    },
  };
}
