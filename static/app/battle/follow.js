// Following a live transcript. While the reader is at (or near) the end of the turns, what arrives
// there scrolls into view. Once they scroll up to read, nothing moves under them: a pill counts the
// turns that came since and takes them back to the newest one (and following resumes).
//
// The page scrolls as a whole (the window), on laptops and phones alike; the transcript is not a
// scroll box of its own.

import { h } from "../dom.js";
import { plural } from "../format.js";

const NEAR_PX = 160; // this close to the end of the turns still counts as at the end
const GAP_PX = 12; // room left above a turn scrolled to the top, under the sticky top bar

/**
 * @param transcript  the element that ends with the turns (and the "is writing" line)
 * @param turns       the list of turns; its last child is the newest turn
 * @returns { pill, update(turnCount, live), resume(), stop() }; `pill` is for the caller to place.
 */
export function followTurns(transcript, turns) {
  let started = false;
  let following = true;
  let live = false;
  let seen = 0; // turns counted so far
  let unseen = 0; // turns that arrived while the reader was elsewhere
  let endAt = 0; // where the transcript ended (page coordinates) at the last update
  let ownScrollY = null; // where our own last scroll landed: its scroll event is not the reader's
  const pill = h("button", { type: "button", class: "button primary follow-pill", hidden: true,
    onclick: () => resume() });

  const end = () => transcript.getBoundingClientRect().bottom + window.scrollY;
  const atEnd = () => transcript.getBoundingClientRect().bottom <= window.innerHeight + NEAR_PX;
  const newestHidden = () => {
    const last = turns.lastElementChild;
    return Boolean(last) && last.getBoundingClientRect().top >= window.innerHeight;
  };

  function draw() {
    pill.hidden = following || !(unseen > 0 || (live && newestHidden()));
    pill.textContent = unseen > 0 ? `${plural(unseen, "new turn")} ↓` : "Back to live ↓";
  }

  /** Bring the newest turn into view: the end of the page, or, if the turn is taller than what is left
   * of the window, its top. Only ever downwards. */
  function scrollToNewest() {
    const last = turns.lastElementChild;
    if (!last) return;
    const bar = document.querySelector(".topbar")?.offsetHeight || 0;
    const top = last.getBoundingClientRect().top + window.scrollY - bar - GAP_PX;
    const bottom = document.documentElement.scrollHeight - window.innerHeight;
    const target = Math.max(0, Math.min(top, bottom));
    if (target <= window.scrollY + 1) return;
    window.scrollTo({ top: target, behavior: "instant" }); // smooth would pass through "scrolled up"
    ownScrollY = window.scrollY;
  }

  function onScroll() {
    if (ownScrollY !== null && Math.abs(window.scrollY - ownScrollY) < 2) return;
    ownScrollY = null;
    following = atEnd();
    if (following) unseen = 0;
    draw();
  }

  /** After the view was drawn: `turnCount` turns on the page; `live` while more may come. */
  function update(turnCount, isLive) {
    live = isLive;
    const added = Math.max(0, turnCount - seen);
    seen = turnCount;
    const grew = end() > endAt + 1;
    if (!started) {
      // A battle opened midway starts where the reader is (the top); the pill offers the way down.
      started = true;
      following = atEnd();
    } else if (following && grew) {
      scrollToNewest();
    } else if (!following) {
      unseen += added;
    }
    endAt = end();
    draw();
  }

  function resume() {
    following = true;
    unseen = 0;
    scrollToNewest();
    endAt = end();
    draw();
  }

  window.addEventListener("scroll", onScroll, { passive: true });
  return {
    pill,
    update,
    resume,
    stop: () => window.removeEventListener("scroll", onScroll),
  };
}
