// Small DOM helpers. Every value that came from a request is inserted as text (textContent or
// a Text node), never as HTML: an event named `<img src=x onerror=alert(1)>` stays text.

/** Build an element: props are attributes, except `class`, `text`, `on<event>` and `dataset`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `HH:MM:SS.mmm` (UTC) of an ISO time, PostHog's live-events precision; "" when absent. */
export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toISOString().slice(11, 23);
}

/** A JSON value as indented text (for <pre>). */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** Copy text to the clipboard; falls back to a hidden textarea where the API is refused. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const status = document.getElementById("announce");
  if (status) status.textContent = "Copied";
}

/** GET a JSON document; throws an Error carrying the server's text on a non-2xx answer.
 * `X-Ctph-Inspector` marks it as the page's own read, which the journal leaves out (a page
 * left open would otherwise evict capture requests with its polling; journal.py `journaled`
 * says why a header rather than a cookie or the Referer). */
export async function getJSON(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json", "X-Ctph-Inspector": "1" },
  });
  if (!response.ok) {
    const text = await response.text();
    const error = new Error(text || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** Replace a container's children. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
}
