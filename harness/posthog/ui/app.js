// The inspector page: wires the views, the filters (kept in the page URL), the live stream
// and the actions to the `/_ctph/` JSON API. It keeps no state the server does not have: every
// view is a read of that API, and a reload gives the same page.

import { Detail } from "./detail.js";
import { copyText, el, getJSON } from "./dom.js";
import { EventsView } from "./events.js";
import { Live } from "./live.js";
import { FILTERS, apiUrl, exportOf, readFilters, readView, writeLocation, VIEWS } from "./query.js";
import { renderGroups, renderPersons, renderRequests, renderWarnings } from "./views.js";

const $ = (id) => document.getElementById(id);

const page = {
  view: readView(location.hash),
  filters: readFilters(location.search),
  stale: new Set(VIEWS), // views whose data changed since they were drawn
  testsSeen: new Set(),
};

const detail = new Detail($("detail"));
const events = new EventsView({
  body: $("events-body"),
  olderLine: $("older-line"),
  olderButton: $("load-older"),
  newMarker: $("new-marker"),
  onOpen: (row) => detail.open(row),
  onTest: (test) => setFilters({ ...page.filters, test }),
});

function showError(error) {
  const box = $("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

// -- counters -------------------------------------------------------------------------------

function setCounts(counts) {
  if (!counts) return;
  for (const name of ["accepted", "refused", "warnings"]) {
    if (typeof counts[name] === "number") $(`count-${name}`).textContent = counts[name].toLocaleString("en");
  }
}

// -- filters --------------------------------------------------------------------------------

const form = $("filters");

function formToFilters() {
  const data = new FormData(form);
  const filters = {};
  for (const name of FILTERS) {
    const value = String(data.get(name) ?? "").trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function filtersToForm(filters) {
  for (const name of FILTERS) form.elements[name].value = filters[name] ?? "";
}

function setFilters(filters, view = page.view) {
  page.filters = filters;
  filtersToForm(filters);
  if (view !== page.view) selectView(view, false);
  writeLocation(filters, page.view);
  page.stale = new Set(VIEWS);
  refreshView();
}

let typing = 0;
form.addEventListener("input", (input) => {
  // text boxes apply after a pause in typing; selects at once
  clearTimeout(typing);
  const delay = input.target.tagName === "SELECT" ? 0 : 300;
  typing = setTimeout(() => setFilters(formToFilters()), delay);
});
form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  clearTimeout(typing);
  setFilters(formToFilters());
});
$("clear-filters").addEventListener("click", () => setFilters({}));
$("copy-api").addEventListener("click", () =>
  copyText(location.origin + apiUrl("/_ctph/events", page.filters)),
);

function rememberTest(test) {
  if (!test || page.testsSeen.has(test)) return;
  page.testsSeen.add(test);
  $("tests-seen").append(el("option", { value: test }));
}

// -- views ----------------------------------------------------------------------------------

const tabs = VIEWS.map((view) => $(`tab-${view}`));

function selectView(view, refresh = true) {
  page.view = view;
  for (const name of VIEWS) {
    const selected = name === view;
    $(`tab-${name}`).setAttribute("aria-selected", String(selected));
    $(`tab-${name}`).tabIndex = selected ? 0 : -1;
    $(`view-${name}`).hidden = !selected;
  }
  writeLocation(page.filters, view);
  if (refresh) refreshView();
}

tabs.forEach((tab, index) => {
  const view = VIEWS[index];
  tab.addEventListener("click", () => selectView(view));
  tab.addEventListener("keydown", (key) => {
    const to = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: VIEWS.length - 1 }[key.key];
    if (to === undefined) return;
    key.preventDefault();
    const next = VIEWS[(to + VIEWS.length) % VIEWS.length];
    selectView(next);
    $(`tab-${next}`).focus();
  });
});

window.addEventListener("hashchange", () => selectView(readView(location.hash)));

async function refreshView() {
  const view = page.view;
  if (!page.stale.has(view)) return;
  page.stale.delete(view);
  const root = $(`view-${view}`);
  try {
    if (view === "events") await events.load(page.filters);
    else if (view === "requests")
      await renderRequests(
        root,
        page.filters,
        (n) => detail.openRequest(n),
        (test) => setFilters({ ...page.filters, test }, "events"),
      );
    else if (view === "warnings") await renderWarnings(root);
    else if (view === "persons")
      await renderPersons(root, page.filters, (person) => setFilters({ person }, "events"));
    else if (view === "groups") await renderGroups(root);
    showError(null);
    root.dataset.ready = "1";
  } catch (error) {
    showError(error);
  }
}

/** Something changed on the server: redraw the visible view soon, the others when shown. */
let redraw = 0;
function changed(views) {
  for (const view of views) page.stale.add(view);
  if (page.view === "events" || !views.includes(page.view)) return;
  clearTimeout(redraw);
  redraw = setTimeout(refreshView, 250);
}

// -- live -----------------------------------------------------------------------------------

const buffered = []; // stream records that arrived before the first page was drawn
let firstPaint = false;

const live = new Live({
  request(record) {
    if (String(record.path).startsWith("/_ctph/")) return;
    setCounts(record.counts);
    page.countsStreamed = true;
    rememberTest(record.test);
    if (!firstPaint) buffered.push(record);
    else if (page.view === "events" || !page.stale.has("events")) events.arrived(record);
    else page.stale.add("events");
    changed(["requests", "persons", "groups", "warnings"]);
  },
  reset() {
    page.countsStreamed = true;
    setCounts({ accepted: 0, refused: 0, warnings: 0 });
    events.clear();
    live.restartPolling();
    page.stale = new Set(VIEWS);
    refreshView();
  },
  warning() {
    changed(["warnings"]);
  },
  gap(info) {
    showError(new Error(`${info.dropped} request(s) were evicted from the journal while this page was away; reloading the view.`));
    page.stale = new Set(VIEWS);
    refreshView();
  },
  state(text) {
    $("live-state").textContent = text;
    document.body.dataset.live = text.split(" ")[0];
  },
  poll(entries) {
    // the fallback's journal records carry no event summaries: ask for the new rows
    let any = false;
    for (const entry of entries) {
      if (String(entry.path).startsWith("/_ctph/")) continue;
      rememberTest(entry.test);
      any = true;
    }
    if (!any) return;
    if (page.view === "events") events.scheduleRefresh();
    else page.stale.add("events");
    changed(["requests", "persons", "groups", "warnings"]);
    loadCounts();
  },
});

/** The header's counters before the stream's first record carries them, and in polling
 * mode (`GET /_ctph/counts`: the same numbers the stream sends). */
async function loadCounts() {
  try {
    const counts = await getJSON("/_ctph/counts");
    if (!page.countsStreamed || live.source === null) setCounts(counts);
  } catch {
    // the stream's records carry the counters too
  }
}

// -- actions --------------------------------------------------------------------------------

$("pause").addEventListener("click", (click) => {
  const button = click.currentTarget;
  if (events.paused) {
    events.resume();
    button.textContent = "Pause";
  } else {
    events.pause();
    button.textContent = "Resume";
  }
  button.setAttribute("aria-pressed", String(events.paused));
});
$("new-marker").addEventListener("click", () => $("pause").click());

// Export downloads the visible view from the API list it reads, with the filters it applies
// (the server writes the file, keys masked by its one redaction path).
$("export").addEventListener("click", () => {
  const link = el("a", exportOf(page.view, page.filters, $("export-format").value));
  document.body.append(link);
  link.click();
  link.remove();
});

const dialog = $("reset-dialog");
$("reset").addEventListener("click", () => dialog.showModal());
dialog.addEventListener("close", async () => {
  if (dialog.returnValue !== "confirm") return;
  try {
    const response = await fetch("/_ctph/reset", { method: "POST" });
    if (!response.ok) throw new Error(`reset refused: ${response.status} ${await response.text()}`);
    // a live stream says `reset` itself (clearing here too could wipe what arrived since)
    if (live.source === null) live.on.reset();
  } catch (error) {
    showError(error);
  }
});

// -- start ----------------------------------------------------------------------------------

filtersToForm(page.filters);
selectView(page.view, false);
live.start();
loadCounts();
refreshView().then(() => {
  firstPaint = true;
  for (const record of buffered.splice(0)) events.arrived(record);
});
