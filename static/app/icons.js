// A few inline SVG icons (no emoji: not every machine has a colour emoji font).

import { s } from "./dom.js";

const PATHS = {
  eye: "M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12Zm11 3.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7Z",
  trophy: "M7 3h10v2h4v3a5 5 0 0 1-5 5h-.3A5 5 0 0 1 13 15.9V19h4v2H7v-2h4v-3.1A5 5 0 0 1 8.3 13H8a5 5 0 0 1-5-5V5h4V3Zm0 4H5v1a3 3 0 0 0 2 2.8V7Zm10 0v3.8A3 3 0 0 0 19 8V7h-2Z",
  clock: "M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20Zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16Zm1 3v4.6l3.2 3.2-1.4 1.4L11 12.4V7h2Z",
  play: "M7 4v16l13-8L7 4Z",
  pause: "M6 4h4v16H6V4Zm8 0h4v16h-4V4Z",
  back: "M6 5h2v14H6V5Zm3 7 10-7v14L9 12Z",
  forward: "M16 5h2v14h-2V5ZM5 5l10 7-10 7V5Z",
  bell: "M12 2a6 6 0 0 1 6 6v4.6l2 3.4v1H4v-1l2-3.4V8a6 6 0 0 1 6-6Zm-2.6 17h5.2a2.6 2.6 0 0 1-5.2 0Z",
};

export function icon(name, { size = 16, label = null } = {}) {
  const props = { class: `icon icon-${name}`, viewBox: "0 0 24 24", width: size, height: size, fill: "currentColor" };
  if (label) Object.assign(props, { role: "img", "aria-label": label });
  else props["aria-hidden"] = "true";
  return s("svg", props, s("path", { d: PATHS[name], "fill-rule": "evenodd" }));
}
