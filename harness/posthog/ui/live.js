// What arrives at the fake, live: Server-Sent Events from /_ctph/stream, and when a proxy
// breaks streams (or the server answers 503 at its cap on open streams), polling of
// /_ctph/requests?cursor=... instead. EventSource itself reconnects after a dropped connection
// and sends Last-Event-ID, so the server replays what the page missed.

import { getJSON } from "./dom.js";

const POLL_MS = 1000;
const POLL_PAGE = 1000;

export class Live {
  /**
   * @param {object} on  callbacks: request(record), reset(), warning(w), gap({dropped}),
   *   state(text), poll(journalEntries) for the polling fallback's raw journal records.
   */
  constructor(on) {
    this.on = on;
    this.source = null;
    this.timer = null;
    this.cursor = null;
    this.lastNumber = 0;
  }

  start() {
    if (!("EventSource" in window)) {
      this.startPolling("no EventSource in this browser");
      return;
    }
    const source = new EventSource("/_ctph/stream");
    this.source = source;
    source.addEventListener("open", () => this.on.state("live"));
    source.addEventListener("request", (message) => {
      const record = JSON.parse(message.data);
      this.lastNumber = Math.max(this.lastNumber, Number(record.number) || 0);
      this.on.request(record);
    });
    source.addEventListener("reset", () => this.on.reset());
    source.addEventListener("warning", (message) => this.on.warning(JSON.parse(message.data)));
    source.addEventListener("gap", (message) => this.on.gap(JSON.parse(message.data)));
    source.addEventListener("error", () => {
      // CONNECTING: EventSource retries by itself (with Last-Event-ID). CLOSED: the answer was
      // not a stream (a 503 at the cap, a proxy's error page): poll instead.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        this.source = null;
        this.startPolling("stream refused: polling /_ctph/requests every second");
      } else {
        this.on.state("reconnecting");
      }
    });
  }

  async startPolling(why) {
    this.on.state(`polling (${why})`);
    try {
      if (this.cursor === null) await this.skipToEnd();
    } catch (error) {
      this.on.state(`offline: ${error.message}`);
    }
    const tick = async () => {
      try {
        const page = await getJSON(this.pollUrl(POLL_PAGE));
        this.cursor = page.cursor;
        const fresh = page.results.filter((entry) => entry.seq > this.lastNumber);
        for (const entry of fresh) this.lastNumber = Math.max(this.lastNumber, entry.seq);
        if (fresh.length) this.on.poll(fresh);
        if (page.dropped && page.dropped !== this.dropped) this.dropped = page.dropped;
        this.timer = setTimeout(tick, page.has_more ? 0 : POLL_MS);
      } catch (error) {
        if (error.status === 400 && this.cursor !== null) {
          // the journal no longer knows the cursor: the fake was reset
          this.on.reset();
          return;
        }
        this.on.state(`offline: ${error.message}`);
        this.timer = setTimeout(tick, POLL_MS * 2);
      }
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Walk the journal once to its end (it holds at most 10,000 records by default), so polling
   * reports only what arrives from now on: the page already loaded the rest. */
  async skipToEnd() {
    let page = await getJSON("/_ctph/requests?limit=10000");
    while (page.has_more) {
      page = await getJSON(`/_ctph/requests?limit=10000&cursor=${encodeURIComponent(page.cursor)}`);
    }
    this.cursor = page.cursor;
    for (const entry of page.results) this.lastNumber = Math.max(this.lastNumber, entry.seq);
  }

  pollUrl(limit) {
    const cursor = this.cursor ? `&cursor=${encodeURIComponent(this.cursor)}` : "";
    return `/_ctph/requests?limit=${limit}${cursor}`;
  }

  /** After a reset the journal's numbers go on, but cursors from before it are refused. */
  restartPolling() {
    if (this.source !== null || this.cursor === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.cursor = null;
    this.startPolling("after reset");
  }
}
