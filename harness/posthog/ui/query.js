// The page's filters: the same names and meaning as the `/_ctph/events` query parameters, kept
// in the page URL's query string (a link reproduces the view; the view itself is the hash).

export const FILTERS = ["q", "event", "distinct_id", "person", "status", "route", "lib", "test"];
/** `/_ctph/requests` takes every filter: the event-level ones keep a request when an event it
 * stored matches (so they leave refused requests out: those stored none). */
export const REQUEST_FILTERS = FILTERS;
/** `/_ctph/persons` takes the filters that describe a person (the server refuses others). */
export const PERSON_FILTERS = ["person", "distinct_id", "q"];
export const VIEWS = ["events", "persons", "groups", "requests", "warnings"];

/** The API list each view shows, and the page filters it passes on: the view, its Export and
 * the server agree on what the view holds because the server does the filtering. */
export const VIEW_SOURCES = {
  events: { path: "/_ctph/events", filters: FILTERS },
  persons: { path: "/_ctph/persons", filters: PERSON_FILTERS },
  groups: { path: "/_ctph/groups", filters: [] },
  requests: { path: "/_ctph/requests", filters: REQUEST_FILTERS },
  warnings: { path: "/_ctph/warnings", filters: [] },
};

/** The download of `view` as shown, in `format` (`json` or `ndjson`): its URL and file name. */
export function exportOf(view, filters, format) {
  const source = VIEW_SOURCES[view];
  return {
    href: apiUrl(source.path, filters, { format: format === "json" ? "" : format }, source.filters),
    download: `ctph-${view}.${format}`,
  };
}

/** The filters set in a query string, as `{name: value}` (empty values left out). */
export function readFilters(search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** A query string (no `?`) of `filters` limited to `names`, then `extra` parameters. */
export function queryString(filters, extra = {}, names = FILTERS) {
  const params = new URLSearchParams();
  for (const name of names) if (filters[name]) params.set(name, filters[name]);
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  return params.toString();
}

/** `path?query` for the JSON API. */
export function apiUrl(path, filters, extra = {}, names = FILTERS) {
  const query = queryString(filters, extra, names);
  return query ? `${path}?${query}` : path;
}

/** The view named in a hash (`#requests`), `events` by default. */
export function readView(hash) {
  const view = hash.replace(/^#/, "");
  return VIEWS.includes(view) ? view : "events";
}

/** Put filters and view into the page URL without a reload (replaceState: no history spam). */
export function writeLocation(filters, view) {
  const query = queryString(filters);
  const url = `${location.pathname}${query ? `?${query}` : ""}#${view}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) {
    history.replaceState(null, "", url);
  }
}
