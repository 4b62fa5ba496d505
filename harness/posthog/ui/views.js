// The other views: requests (refused ones with PostHog's status and message), ingestion
// warnings, persons (merged distinct_ids; click: that person's events) and groups. Each reads
// the JSON API once when shown, and again when the stream says something changed.

import { apiUrl, PERSON_FILTERS, REQUEST_FILTERS } from "./query.js";
import { clock, el, fill, getJSON, pretty } from "./dom.js";
import { shortTest } from "./events.js";

const REQUEST_PAGE = 500;

function table(caption, headers, rows, empty) {
  if (!rows.length) return el("p", { class: "empty", text: empty });
  return el(
    "table",
    { class: "list" },
    el("caption", { class: "offscreen", text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows),
  );
}

/** PostHog's refusal text: the body as answered (capture's JSON error or plain text). */
export function refusal(entry) {
  if (!entry.status || entry.status < 400) return "";
  const text = entry.message ?? entry.response ?? "";
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object" && "detail" in parsed) return String(parsed.detail);
  } catch {
    // plain text: shown as is
  }
  return String(text);
}

/** Requests grouped by the pytest test that made them: requests, refused, events stored. */
function byTest(entries, onTest) {
  const groups = new Map();
  for (const entry of entries) {
    if (!entry.test) continue;
    const group = groups.get(entry.test) ?? { requests: 0, refused: 0, events: 0 };
    group.requests += 1;
    group.refused += entry.status >= 400 ? 1 : 0;
    group.events += entry.stored ?? 0;
    groups.set(entry.test, group);
  }
  if (!groups.size) return null;
  const rows = [...groups].map(([test, g]) =>
    el(
      "tr",
      { class: g.refused ? "refused" : "" },
      el(
        "td",
        {},
        el("button", {
          type: "button",
          class: "link",
          title: `Show only the events of ${test}`,
          text: test,
          onclick: () => onTest(test),
        }),
      ),
      el("td", { text: g.requests }),
      el("td", { class: "message", text: g.refused }),
      el("td", { text: g.events }),
    ),
  );
  return el(
    "section",
    { class: "by-test", "aria-label": "Requests by test" },
    el("h2", { text: "By test" }),
    table("Requests by test", ["Test", "Requests", "Refused", "Events"], rows, ""),
  );
}

export async function renderRequests(root, filters, onOpenRequest, onTest) {
  const url = apiUrl("/_ctph/requests", filters, { limit: REQUEST_PAGE, order: "desc" }, REQUEST_FILTERS);
  const page = await getJSON(url);
  // every request the API lists, a user's own /_ctph/ calls included (the page's own reads are
  // not journaled: journal.py `journaled`), so the view is exactly what Export downloads
  const entries = page.results;
  const rows = entries.map((entry) =>
    el(
      "tr",
      { class: entry.status >= 400 ? "refused" : "", dataset: { seq: String(entry.seq) } },
      el("td", { text: `#${entry.seq}` }),
      el("td", { class: "time", title: entry.received_at, text: clock(entry.received_at) }),
      el("td", { text: entry.method }),
      el("td", { class: "route", text: entry.path + (entry.query ? `?${entry.query}` : "") }),
      el("td", { class: `status s${String(entry.status).slice(0, 1)}`, text: entry.status }),
      el("td", { class: "message", text: refusal(entry) }),
      el("td", { text: entry.stored ?? "" }),
      el("td", { class: "test", title: entry.test ?? "", text: entry.test ? shortTest(entry.test) : "" }),
      el(
        "td",
        {},
        el("button", {
          type: "button",
          text: "Details",
          "aria-label": `Details of request ${entry.seq}`,
          onclick: () => onOpenRequest(entry.seq),
        }),
      ),
    ),
  );
  const notes = [];
  if (page.has_more) notes.push(el("p", { class: "note", text: `Showing the newest ${REQUEST_PAGE}; narrow the filters to see older ones.` }));
  if (page.dropped) notes.push(el("p", { class: "note", text: `${page.dropped} older requests were dropped by the journal's bounds.` }));
  fill(
    root,
    byTest(entries, onTest),
    table(
      "Requests",
      ["#", "Time", "Method", "Path", "Status", "PostHog's message", "Events", "Test", ""],
      rows,
      "No requests match.",
    ),
    notes,
  );
}

export async function renderWarnings(root) {
  const warnings = await getJSON("/_ctph/warnings");
  const rows = warnings.map((w) =>
    el("tr", {}, el("td", {}, el("code", { text: w.type })), el("td", {}, el("pre", { text: pretty(w.details) }))),
  );
  fill(root, table("Ingestion warnings", ["Type", "Details"], rows, "No ingestion warnings."));
}

/** Persons as `/_ctph/persons` filters them (`person`, `distinct_id`, `q`: the API's meaning). */
export async function renderPersons(root, filters, onPerson) {
  const persons = await getJSON(apiUrl("/_ctph/persons", filters, {}, PERSON_FILTERS));
  const rows = persons.map((p) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", { text: p.id })),
      el("td", {}, el("ul", { class: "ids" }, p.distinct_ids.map((id) => el("li", { text: id })))),
      el("td", {}, el("pre", { text: pretty(p.properties) })),
      el("td", { text: p.is_identified ? "yes" : "no" }),
      el("td", { class: "time", title: p.created_at, text: p.created_at }),
      el(
        "td",
        {},
        el("button", {
          type: "button",
          text: "Events",
          "aria-label": `Events of person ${p.distinct_ids[0] ?? p.id}`,
          onclick: () => onPerson(p.distinct_ids[0] ?? p.id),
        }),
      ),
    ),
  );
  const filtered = PERSON_FILTERS.some((name) => filters[name]);
  fill(
    root,
    table(
      "Persons",
      ["Person", "distinct_ids", "Properties", "Identified", "Created", ""],
      rows,
      filtered ? "No persons match." : "No persons.",
    ),
  );
}

export async function renderGroups(root) {
  const groups = await getJSON("/_ctph/groups");
  const rows = groups.map((g) =>
    el(
      "tr",
      {},
      el("td", { text: g.type }),
      el("td", {}, el("code", { text: g.key })),
      el("td", { text: g.index }),
      el("td", {}, el("pre", { text: pretty(g.properties) })),
    ),
  );
  fill(root, table("Groups", ["Type", "Key", "Index", "Properties"], rows, "No groups."));
}
