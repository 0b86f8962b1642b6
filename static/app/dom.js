// A tiny DOM helper. Everything from the server goes in as text nodes or attributes, never markup:
// there is deliberately no way to pass HTML through here.

const SVG_NS = "http://www.w3.org/2000/svg";

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** h("a", {href: "#/", class: "x"}, "text", otherNode) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  return appendAll(el, children);
}

/** The same for SVG elements (charts, interval bars). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  return appendAll(el, children);
}

/** Replace every child of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return appendAll(el, children);
}

/** Replace what `root` shows with a card saying what went wrong, and a link back (`back`: [href, text]). */
export function problemCard(root, title, text, [href, label], cls = null) {
  fill(root, h("section", { class: ["card", "problem", cls] }, h("h1", {}, title), h("p", {}, text),
    h("p", {}, h("a", { href }, label))));
}

/** A link inside the app: `#/route/part` with every part URI-encoded. */
export function route(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}

/** Run `fn` every `ms` while the returned stop function has not been called. */
export function every(ms, fn) {
  const id = setInterval(fn, ms);
  return () => clearInterval(id);
}

const KEYED = new WeakMap();

/**
 * Keep `container`'s children in step with `items`, keyed: an item whose signature did not change
 * keeps its element (no flicker, no lost focus); new ones are drawn, gone ones removed.
 */
export function syncList(container, items, keyOf, signatureOf, draw) {
  const old = KEYED.get(container) || new Map();
  const next = new Map();
  for (const item of items) {
    const key = keyOf(item);
    const sig = signatureOf(item);
    let entry = old.get(key);
    if (!entry || entry.sig !== sig) {
      const el = draw(item);
      if (entry) entry.el.replaceWith(el);
      entry = { el, sig };
    }
    next.set(key, entry);
  }
  for (const [key, entry] of old) if (!next.has(key)) entry.el.remove();
  let i = 0;
  for (const { el } of next.values()) {
    if (container.children[i] !== el) container.insertBefore(el, container.children[i] || null);
    i += 1;
  }
  KEYED.set(container, next);
}

/** Run `fn` with `button` disabled, saying a refusal in `problem`; true when it worked. */
export async function attempt(problem, button, fn) {
  problem.textContent = "";
  if (button) button.disabled = true;
  try {
    await fn();
    return true;
  } catch (err) {
    problem.textContent = err?.message || "That did not work; try again.";
    problem.dataset.code = err?.code || "";
    return false;
  } finally {
    if (button) button.disabled = false;
  }
}
