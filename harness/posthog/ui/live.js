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
    // Which run of start()/stop() is current. Every asynchronous step (an EventSource event, a
    // poll answer, a timer) belongs to the run that began it and does nothing once another run
    // began: a quick stop()/start(), or two resets in a row, leave exactly one stream or one
    // polling loop, never two.
    this.run = 0;
  }

  /** Open the stream (or poll where there is no EventSource); stops whatever ran before. */
  start() {
    const run = this.stop();
    if (!("EventSource" in window)) {
      this.startPolling("no EventSource in this browser", run);
      return;
    }
    const source = new EventSource("/_ctph/stream");
    this.source = source;
    const current = () => run === this.run;
    source.addEventListener("open", () => current() && this.on.state("live"));
    source.addEventListener("request", (message) => {
      if (!current()) return;
      const record = JSON.parse(message.data);
      this.lastNumber = Math.max(this.lastNumber, Number(record.number) || 0);
      this.on.request(record);
    });
    source.addEventListener("reset", () => current() && this.on.reset());
    source.addEventListener("warning", (message) => {
      if (current()) this.on.warning(JSON.parse(message.data));
    });
    source.addEventListener("gap", (message) => {
      if (current()) this.on.gap(JSON.parse(message.data));
    });
    source.addEventListener("error", () => {
      if (!current()) return;
      // CONNECTING: EventSource retries by itself (with Last-Event-ID). CLOSED: the answer was
      // not a stream (a 503 at the cap, a proxy's error page): poll instead.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        this.source = null;
        this.startPolling("stream refused: polling /_ctph/requests every second", run);
      } else {
        this.on.state("reconnecting");
      }
    });
  }

  /** Close the stream and end the polling loop, at once; later answers of this run are
   * ignored. Idempotent. Returns the new run's number. */
  stop() {
    this.run += 1;
    if (this.source !== null) {
      this.source.close(); // frees the server's stream slot (one of 16) now, not at a ping
      this.source = null;
    }
    clearTimeout(this.timer);
    this.timer = null;
    return this.run;
  }

  /** Poll `/_ctph/requests` as run `run` (the current one unless told). */
  async startPolling(why, run = this.run) {
    const current = () => run === this.run;
    this.on.state(`polling (${why})`);
    try {
      if (this.cursor === null) await this.skipToEnd(current);
    } catch (error) {
      if (current()) this.on.state(`offline: ${error.message}`);
    }
    if (!current()) return;
    const tick = async () => {
      try {
        const page = await getJSON(this.pollUrl(POLL_PAGE));
        if (!current()) return;
        this.cursor = page.cursor;
        const fresh = page.results.filter((entry) => entry.seq > this.lastNumber);
        for (const entry of fresh) this.lastNumber = Math.max(this.lastNumber, entry.seq);
        if (fresh.length) this.on.poll(fresh);
        if (page.dropped && page.dropped !== this.dropped) this.dropped = page.dropped;
        if (current()) this.timer = setTimeout(tick, page.has_more ? 0 : POLL_MS);
      } catch (error) {
        if (!current()) return;
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
  async skipToEnd(current) {
    let page = await getJSON("/_ctph/requests?limit=10000");
    while (page.has_more && current()) {
      page = await getJSON(`/_ctph/requests?limit=10000&cursor=${encodeURIComponent(page.cursor)}`);
    }
    if (!current()) return;
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
    const run = this.stop(); // ends the loop (and a restart still waiting on skipToEnd)
    this.cursor = null;
    this.startPolling("after reset", run);
  }
}
