// One event in detail, in tabs: its properties as stored, the request that carried it (as
// received, then each decoding step the fake took), the fake's response, and the contract
// verdict (the CTPH findings `ctph check` gives for the payload). Plus copy buttons.

import { copyText, el, fill, getJSON, pretty } from "./dom.js";

const TABS = ["Properties", "Request", "Response", "Contract"];

/** A JSON value as a Python literal (for a pasted `assert_event(...)` line). */
export function python(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "None";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(python).join(", ")}]`;
  const items = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${python(v)}`);
  return `{${items.join(", ")}}`;
}

/** `fake_posthog.assert_event(...)` matching this event: its name, distinct_id and the
 * properties the sender set (`$` ones are mostly the SDK's and the fake's, left out). */
export function assertLine(event) {
  const own = Object.fromEntries(
    Object.entries(event.properties || {}).filter(([key]) => !key.startsWith("$")),
  );
  const args = [python(event.event), `distinct_id=${python(event.distinct_id)}`];
  if (Object.keys(own).length) args.push(`properties=${python(own)}`);
  return `fake_posthog.assert_event(${args.join(", ")})`;
}

/** POSIX shell single-quoting. */
export function shellQuote(text) {
  return `'${String(text).replaceAll("'", "'\\''")}'`;
}

/** A curl command replaying the request's decoded payload as JSON (keys are already redacted
 * by the server, so the command carries a masked key, never the real one). */
export function curlLine(request, origin) {
  // a query holding an encoded key arrives as the server's note ("…(encoded text holding a
  // key…"), not as a query: replay without it (its payload is the json step's text)
  const query = request.query && !request.query.startsWith("…(") ? request.query : "";
  const target = `${origin}${request.path}${query ? `?${query}` : ""}`;
  const steps = request.decoding || [];
  const json = [...steps].reverse().find((step) => step.step === "json" && step.text != null);
  let body = json ? json.text : request.body_encoding === "base64" ? null : request.body;
  if (body !== null && typeof body !== "string") body = JSON.stringify(body);
  // the journal keeps any method token a client sent: only plain A-Z goes in unquoted
  const method = request.method || "POST";
  const parts = ["curl", "-X", /^[A-Z]+$/.test(method) ? method : shellQuote(method)];
  parts.push(shellQuote(target));
  if (body !== null && body !== undefined && body !== "") {
    parts.push("-H", shellQuote("Content-Type: application/json"), "--data-raw", shellQuote(body));
  }
  return parts.join(" ");
}

export class Detail {
  constructor(root) {
    this.root = root;
    this.event = null;
    this.request = null;
    this.ticket = 0;
    this.hideDollar = false;
    this.active = "Properties";
    this.title = root.querySelector("#detail-title");
    this.panel = root.querySelector("#detail-panel");
    const tabs = root.querySelector("#detail-tabs");
    this.tabs = new Map();
    for (const name of TABS) {
      const tab = el("button", {
        type: "button",
        role: "tab",
        id: `detail-tab-${name.toLowerCase()}`,
        "aria-controls": "detail-panel",
        "aria-selected": String(name === this.active),
        text: name,
        onclick: () => this.show(name),
        onkeydown: (key) => this.arrow(key, name),
      });
      this.tabs.set(name, tab);
      tabs.append(tab);
    }
    root.querySelector("#detail-close").addEventListener("click", () => this.close());
    root.querySelector("#copy-json").addEventListener("click", () => {
      if (this.event) copyText(pretty(this.event));
    });
    root.querySelector("#copy-assert").addEventListener("click", () => {
      if (this.event) copyText(assertLine(this.event));
    });
    root.querySelector("#copy-curl").addEventListener("click", () => {
      if (this.copyable().curl) copyText(curlLine(this.request, location.origin));
    });
    this.copyButtons = {
      json: root.querySelector("#copy-json"),
      assert: root.querySelector("#copy-assert"),
      curl: root.querySelector("#copy-curl"),
    };
    this.enableCopies();
  }

  /** What the copy buttons can copy now: the event once loaded; the request once loaded and
   * found. */
  copyable() {
    const event = Boolean(this.event);
    return { json: event, assert: event, curl: Boolean(this.request && !this.request.missing) };
  }

  /** Copy buttons are disabled until what they copy has loaded: a click while the detail was
   * still loading copied nothing and said nothing. */
  enableCopies() {
    const can = this.copyable();
    for (const [name, button] of Object.entries(this.copyButtons)) button.disabled = !can[name];
  }

  arrow(key, name) {
    const at = TABS.indexOf(name);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 }[key.key];
    if (to === undefined) return;
    const next = TABS[(to + TABS.length) % TABS.length];
    this.show(next);
    this.tabs.get(next).focus();
  }

  /** Open the detail of a table row: the stored event, then its request. */
  async open(row) {
    const ticket = this.begin(row.event);
    let event;
    try {
      event = await getJSON(`/_ctph/events/${encodeURIComponent(row.uuid)}`);
    } catch (error) {
      if (ticket !== this.ticket) return;
      fill(this.panel, el("p", { class: "error", text: `Event not found: ${error.message}` }));
      return;
    }
    const number = event.request ?? row.request;
    let request = null;
    if (number !== undefined && number !== null) {
      try {
        request = await getJSON(`/_ctph/requests/${encodeURIComponent(number)}`);
      } catch (error) {
        request = { missing: error.message };
      }
    }
    if (ticket !== this.ticket) return; // another row was opened (or the detail closed) since
    this.event = event;
    this.request = request;
    this.show(this.active);
  }

  /** Clear the detail for a new subject; the ticket tells a late answer it is stale. */
  begin(title) {
    this.ticket += 1;
    this.root.hidden = false;
    this.title.textContent = title;
    this.event = null;
    this.request = null;
    this.enableCopies();
    fill(this.panel, el("p", { text: "Loading…" }));
    return this.ticket;
  }

  /** Open one journal record (a refused request has no event: its Request tab first). */
  async openRequest(number) {
    const ticket = this.begin(`Request #${number}`);
    let request;
    try {
      request = await getJSON(`/_ctph/requests/${encodeURIComponent(number)}`);
    } catch (error) {
      if (ticket !== this.ticket) return;
      fill(this.panel, el("p", { class: "error", text: `Request not found: ${error.message}` }));
      return;
    }
    if (ticket !== this.ticket) return;
    this.request = request;
    this.show(this.active === "Properties" ? "Request" : this.active);
  }

  close() {
    this.ticket += 1;
    this.root.hidden = true;
    this.event = null;
    this.request = null;
    this.enableCopies();
  }

  show(name) {
    this.active = name;
    this.enableCopies();
    for (const [tabName, tab] of this.tabs) {
      tab.setAttribute("aria-selected", String(tabName === name));
      tab.tabIndex = tabName === name ? 0 : -1;
    }
    this.panel.setAttribute("aria-labelledby", this.tabs.get(name).id);
    if (!this.event && !this.request) return;
    const render = {
      Properties: () => this.properties(),
      Request: () => this.requestView(),
      Response: () => this.responseView(),
      Contract: () => this.contract(),
    }[name];
    fill(this.panel, render());
  }

  properties() {
    const event = this.event;
    if (!event) return el("p", { text: "This request stored no event." });
    const toggle = el("input", {
      type: "checkbox",
      id: "hide-dollar",
      checked: this.hideDollar,
      onchange: (change) => {
        this.hideDollar = change.target.checked;
        this.show("Properties");
      },
    });
    const entries = Object.entries(event.properties || {}).filter(
      ([key]) => !(this.hideDollar && key.startsWith("$")),
    );
    const head = [
      ["uuid", event.uuid],
      ["event", event.event],
      ["distinct_id", event.distinct_id],
      ["timestamp", event.timestamp],
      ["person_id", event.person_id],
      ["test", event.test],
    ];
    return [
      el("label", { class: "toggle" }, toggle, " Hide $ properties"),
      keyValues("Event", head),
      keyValues(
        "Properties",
        entries.map(([key, value]) => [key, value]),
      ),
    ];
  }

  requestView() {
    const request = this.request;
    if (!request) return el("p", { text: "No request is linked to this event." });
    if (request.missing) {
      return el("p", { class: "error", text: `Request not in the journal: ${request.missing}` });
    }
    const target = `${request.method} ${request.path}${request.query ? `?${request.query}` : ""}`;
    const received = [
      el("h3", { text: "Body as received" }),
      el("p", {
        class: "note",
        text: [
          request.body_encoding ? `encoding: ${request.body_encoding}` : "",
          request.body_truncated ? "truncated" : "",
        ]
          .filter(Boolean)
          .join(", "),
      }),
      el("pre", { class: "body", text: asText(request.body) }),
    ];
    const steps = (request.decoding || []).map((step, index) =>
      el(
        "li",
        {},
        el("strong", { text: step.step }),
        ` → ${step.bytes ?? "?"} bytes`,
        step.text != null ? el("pre", { text: asText(step.text) }) : null,
      ),
    );
    return [
      el("p", { class: "target" }, el("code", { text: target }), ` → ${request.status ?? ""}`),
      keyValues("Headers", Object.entries(request.headers || {})),
      ...received,
      el("h3", { text: "Decoding steps" }),
      steps.length ? el("ol", { class: "steps" }, steps) : el("p", { text: "None" }),
    ];
  }

  responseView() {
    const response = this.request && this.request.response;
    if (!response) return el("p", { text: "No response recorded." });
    return [
      el("p", { class: "target", text: `Status ${response.status}` }),
      keyValues("Headers", Object.entries(response.headers || {})),
      el("h3", { text: "Body" }),
      el("pre", { class: "body", text: asText(response.body) }),
    ];
  }

  contract() {
    const findings = (this.request && this.request.verdict) || [];
    if (!findings.length) {
      return el("p", { class: "pass", text: "No CTPH findings: PostHog takes this payload." });
    }
    return el(
      "section",
      { class: "findings", "aria-label": "CTPH findings" },
      el("h3", { text: "CTPH findings (what ctph check says about this payload)" }),
      findings.map((f) =>
        el(
          "article",
          { class: `finding sev-${f.severity}` },
          el(
            "p",
            { class: "finding-head" },
            el("code", { class: "code", text: f.code }),
            el("span", { class: "severity", text: f.severity }),
            el("code", { class: "pointer", text: f.pointer }),
          ),
          el("p", { class: "message", text: f.message }),
          f.hint ? el("p", { class: "hint", text: f.hint }) : null,
        ),
      ),
    );
  }
}

function asText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : pretty(value);
}

/** A two-column table of `[key, value]` pairs; values that are not strings shown as JSON. */
export function keyValues(caption, pairs) {
  return el(
    "table",
    { class: "kv" },
    el("caption", { text: caption }),
    el(
      "tbody",
      {},
      pairs.map(([key, value]) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: key }),
          el("td", {}, el("code", { text: asText(value) })),
        ),
      ),
    ),
  );
}
