// The live events table: newest first, rows added in batches on animation frames, a cap on
// rows in the DOM with a line saying how many older ones are not shown and "Load older" to page
// further back. Pausing queues arrivals behind an "N new" marker; nothing is dropped silently.
//
// The page's memory is bounded too: it keeps at most `keep` rows (2,000; more only while the
// user has asked to see more with "Load older"), and at most `keep` queued while paused. Rows
// it forgets are the oldest; "Load older" fetches them again from the server, so every event
// stays reachable and the "N older events not shown" line counts them all.

import { apiUrl } from "./query.js";
import { clock, el, getJSON } from "./dom.js";

export const PAGE = 200;
/** The largest page `/_ctph/events` answers (harness/posthog/inspection.py MAX_LIMIT). */
const MAX_PAGE = 10_000;
let keep = 2000;

/** How many rows the page keeps in memory at most (at least a page: the newest page read by
 * `refresh()` must meet the kept rows). A setter rather than a query parameter: tests set a
 * small cap from the page's console, and no URL of the product changes how it behaves. */
export function keepAtMost(rows) {
  if (!Number.isInteger(rows) || rows < PAGE) throw new RangeError(`keep at least ${PAGE} rows`);
  keep = rows;
}

/** A table row's fields, from a stored event (`/_ctph/events`). */
export function rowFromEvent(event) {
  const props = event.properties || {};
  return {
    uuid: event.uuid,
    time: event.timestamp,
    event: event.event,
    distinct_id: event.distinct_id,
    url: props.$current_url ?? props.$screen_name ?? "",
    lib: props.$lib ?? "",
    lib_version: props.$lib_version ?? "",
    route: event.route ?? "",
    status: event.status ?? "",
    test: event.test ?? "",
    request: event.request,
  };
}

/** A table row's fields, from one event of a stream message (one journal record). */
export function rowFromStream(record, event) {
  return {
    uuid: event.uuid,
    time: event.timestamp,
    event: event.event,
    distinct_id: event.distinct_id,
    url: event.url ?? "",
    lib: event.lib ?? "",
    lib_version: event.lib_version ?? "",
    route: record.path,
    status: record.status,
    test: record.test ?? "",
    request: record.number,
  };
}

export class EventsView {
  constructor({ body, olderLine, olderButton, newMarker, onOpen, onTest }) {
    this.body = body;
    this.olderLine = olderLine;
    this.olderButton = olderButton;
    this.newMarker = newMarker;
    this.onOpen = onOpen;
    this.onTest = onTest;
    this.filters = {};
    this.rows = []; // loaded rows, newest first (the DOM shows the first `shown` of them)
    this.seen = new Set(); // uuids of `rows` and `pending`
    this.pending = []; // arrived, not yet in the DOM (a frame away, or paused)
    this.skipped = 0; // arrivals forgotten while queued (more than `keep` of them)
    this.trimmed = false; // older rows were forgotten: "Load older" asks for them again
    this.cuts = 0; // how often rows were forgotten (a page asked for before a cut is stale)
    this.shown = 0;
    this.limit = PAGE;
    this.total = 0; // matching events on the server (as far as this page knows)
    this.olderCursor = null;
    this.paused = false;
    this.frame = 0;
    this.generation = 0;
    this.refreshTimer = 0;
    olderButton.addEventListener("click", () => this.loadOlder());
  }

  get filtered() {
    return Object.keys(this.filters).length > 0;
  }

  /** First paint: one page of the newest matching events, never the whole list. */
  async load(filters) {
    const generation = ++this.generation;
    this.filters = filters;
    const page = await getJSON(
      apiUrl("/_ctph/events", filters, { limit: PAGE, order: "desc" }),
    );
    if (generation !== this.generation) return;
    this.rows = [];
    this.seen.clear();
    this.pending = [];
    this.skipped = 0;
    this.shown = 0;
    this.limit = PAGE;
    this.body.replaceChildren();
    this.accept(page);
    this.render();
  }

  /** Take a page (newest first) below the loaded rows (older ones). */
  accept(page) {
    const fresh = [];
    for (const event of page.results) {
      if (this.seen.has(event.uuid)) continue;
      this.seen.add(event.uuid);
      fresh.push(rowFromEvent(event));
    }
    this.rows.push(...fresh);
    this.olderCursor = page.has_more ? page.cursor : null;
    this.trimmed = false;
    if (typeof page.total === "number") this.total = page.total;
    else this.total = Math.max(this.total, this.rows.length);
    return fresh.length;
  }

  /** Rows that arrived live (newest last in `rows`); shown on the next frame unless paused. */
  queue(rows) {
    const fresh = rows.filter((row) => !this.seen.has(row.uuid));
    for (const row of fresh) this.seen.add(row.uuid);
    if (!fresh.length) return;
    this.pending.push(...fresh);
    this.total += fresh.length;
    const over = this.pending.length - keep;
    if (over > 0) {
      // paused through a burst: keep the newest `keep`; the kept rows no longer meet them
      for (const row of this.pending.splice(0, over)) this.seen.delete(row.uuid);
      this.skipped += over;
    }
    this.schedule();
  }

  /** A stream record arrived: unfiltered, its events are the rows; filtered, ask the server
   * (same filter semantics as the API), at most every 200 ms. */
  arrived(record) {
    if (!record.events || !record.events.length) return;
    if (this.filtered) {
      this.scheduleRefresh();
      return;
    }
    this.queue(record.events.map((event) => rowFromStream(record, event)));
  }

  scheduleRefresh() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.refresh();
    }, 200);
  }

  /** Newest page again; rows not seen yet are new. If the whole page is new, more may have
   * arrived than a page holds: reload rather than leave a hole. */
  async refresh() {
    const generation = this.generation;
    const page = await getJSON(
      apiUrl("/_ctph/events", this.filters, { limit: PAGE, order: "desc" }),
    );
    if (generation !== this.generation) return;
    const known = page.results.some((event) => this.seen.has(event.uuid));
    if (!known && page.results.length === PAGE && this.rows.length) {
      await this.load(this.filters);
      return;
    }
    const fresh = page.results.filter((event) => !this.seen.has(event.uuid)).reverse();
    this.queue(fresh.map(rowFromEvent));
    if (typeof page.total === "number") this.total = page.total;
    this.render();
  }

  schedule() {
    if (this.paused) {
      this.renderMarker();
      return;
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** One batch: every pending row in one fragment, then the DOM trimmed to the cap. */
  flush() {
    this.frame = 0;
    if (this.paused || !this.pending.length) return;
    const arrived = this.pending.reverse(); // newest first
    this.pending = [];
    if (this.skipped) {
      // arrivals were forgotten between the kept rows and these: start over from these
      this.cut(0);
      this.body.replaceChildren();
      this.shown = 0;
      this.skipped = 0;
    }
    this.rows.unshift(...arrived);
    const fragment = document.createDocumentFragment();
    for (const row of arrived) fragment.append(this.tr(row));
    this.body.prepend(fragment);
    this.shown += arrived.length;
    this.limit = Math.max(this.limit, PAGE);
    this.trim();
    this.forget(Math.max(keep, this.limit));
    this.renderMarker();
    this.renderOlder();
  }

  /** Keep the newest `count` rows (never fewer than the DOM shows), forget the rest: "Load
   * older" then asks the server for what is older than the oldest kept row. */
  forget(count) {
    if (this.rows.length > count) this.cut(count);
  }

  /** Forget the rows from `count` on, and say that older events must be asked for again
   * (even when none was kept: queued arrivals may have been forgotten). */
  cut(count) {
    for (const row of this.rows.splice(count)) this.seen.delete(row.uuid);
    this.olderCursor = null;
    this.trimmed = true;
    this.cuts += 1;
  }

  trim() {
    while (this.shown > this.limit && this.body.lastElementChild) {
      this.body.lastElementChild.remove();
      this.shown -= 1;
    }
  }

  /** Show rows[shown .. limit) below the ones already in the DOM. */
  render() {
    const stop = Math.min(this.limit, this.rows.length);
    if (this.shown < stop) {
      const fragment = document.createDocumentFragment();
      for (const row of this.rows.slice(this.shown, stop)) fragment.append(this.tr(row));
      this.body.append(fragment);
      this.shown = stop;
    }
    this.trim();
    this.renderOlder();
    this.renderMarker();
    document.body.dataset.eventsReady = "1";
  }

  async loadOlder() {
    this.limit += PAGE;
    const generation = this.generation;
    while (this.rows.length < this.limit && (this.olderCursor || this.trimmed)) {
      const cuts = this.cuts;
      const page = this.olderCursor
        ? await getJSON(
            apiUrl("/_ctph/events", this.filters, {
              limit: PAGE,
              order: "desc",
              cursor: this.olderCursor,
            }),
          )
        : await this.olderThanKept();
      if (generation !== this.generation) return;
      if (cuts !== this.cuts) continue; // rows were forgotten meanwhile: the page may not meet
      if (page === null) {
        // the oldest kept row is no longer listed (filters changed what matches): start over
        await this.load(this.filters);
        return;
      }
      if (!this.accept(page) && !this.olderCursor) break;
    }
    this.render();
  }

  /** The events older than the oldest kept row, as a page (`null`: that row is not listed).
   * A cursor is the server's to make (inspection.py), so the page asks for the newest events
   * again, in one page as large as what it keeps plus what may have arrived since, and walks
   * older until it meets that row; the answer's cursor then continues below it. */
  async olderThanKept() {
    const anchor = this.rows.length ? this.rows[this.rows.length - 1].uuid : null;
    if (anchor === null) return null;
    const limit = Math.min(MAX_PAGE, this.rows.length + this.pending.length + PAGE);
    let cursor = "";
    for (;;) {
      const page = await getJSON(
        apiUrl("/_ctph/events", this.filters, { limit, order: "desc", cursor }),
      );
      const at = page.results.findIndex((event) => event.uuid === anchor);
      if (at >= 0) return { ...page, results: page.results.slice(at + 1) };
      if (!page.has_more) return null;
      cursor = page.cursor;
    }
  }

  renderOlder() {
    const hidden = Math.max(0, this.total - this.shown - this.pending.length - this.skipped);
    const more = hidden > 0 || this.olderCursor !== null || this.trimmed;
    this.olderLine.textContent = hidden
      ? `${hidden.toLocaleString("en")} older event${hidden === 1 ? "" : "s"} not shown`
      : more
        ? "Older events not shown"
        : this.shown
          ? "All matching events shown"
          : "No events yet";
    this.olderButton.hidden = !more;
  }

  renderMarker() {
    const waiting = this.pending.length + this.skipped;
    this.newMarker.hidden = !(this.paused && waiting);
    this.newMarker.textContent = `${waiting.toLocaleString("en")} new`;
  }

  pause() {
    this.paused = true;
    this.renderMarker();
  }

  resume() {
    this.paused = false;
    this.schedule();
  }

  /** Back to empty after a reset (the server forgot everything). */
  clear() {
    this.generation += 1;
    this.rows = [];
    this.seen.clear();
    this.pending = [];
    this.skipped = 0;
    this.shown = 0;
    this.total = 0;
    this.olderCursor = null;
    this.trimmed = false;
    this.body.replaceChildren();
    this.render();
  }

  tr(row) {
    const lib = row.lib ? `${row.lib}${row.lib_version ? ` ${row.lib_version}` : ""}` : "";
    const status = String(row.status ?? "");
    const test = row.test
      ? el("button", {
          type: "button",
          class: "link",
          title: `Show only events of ${row.test}`,
          text: shortTest(row.test),
          onclick: (clicked) => {
            clicked.stopPropagation();
            this.onTest(row.test);
          },
        })
      : "";
    return el(
      "tr",
      {
        tabindex: "0",
        dataset: { uuid: row.uuid },
        onclick: () => this.onOpen(row),
        onkeydown: (key) => {
          if (key.key === "Enter" || key.key === " ") {
            key.preventDefault();
            this.onOpen(row);
          }
        },
      },
      el("td", { class: "time", title: row.time ?? "", text: clock(row.time) }),
      el("td", { class: "event", text: row.event }),
      el("td", { class: "distinct", text: row.distinct_id }),
      el("td", { class: "url", title: row.url, text: row.url }),
      el("td", { class: "lib", text: lib }),
      el("td", { class: "route", text: row.route }),
      el("td", { class: `status s${status.slice(0, 1)}`, text: status }),
      el("td", { class: "test" }, test),
    );
  }
}

/** The test's own name: the node id after its last `::` (the full id in the title). */
export function shortTest(nodeid) {
  const at = nodeid.lastIndexOf("::");
  return at >= 0 ? nodeid.slice(at + 2) : nodeid;
}
