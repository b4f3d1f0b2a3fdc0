// The one way the app talks to the server: the public JSON API under /api/v1 with the bearer token.
// Errors come back as ApiError: kind "network" (no answer: offline, server down, timeout) or "http"
// (an answer with a status, the problem+json body and Retry-After when the server sent one).

const BASE = "/api/v1";
const TIMEOUT_MS = 30000;

let currentToken = () => null;
let onUnauthorized = () => {};

export function configure({ token, unauthorized }) {
  currentToken = token;
  onUnauthorized = unauthorized;
}

export class ApiError extends Error {
  constructor(kind, status = 0, problem = null, retryAfter = null) {
    super(problem && problem.detail ? problem.detail : kind === "network" ? "network error" : `HTTP ${status}`);
    this.kind = kind;
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;  // seconds, or null
  }

  /** Worth trying again later, unchanged: no answer, or the server is busy or down. */
  get transient() {
    return this.kind === "network" || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

function retryAfterSeconds(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

/**
 * request("POST", "/competitions/1/entries", {json: {...}}) → {status, data, headers}
 * Options: json | body + contentType, etag (If-None-Match), auth (false for the login), timeout (ms),
 * blob (the answer's bytes as a Blob, for photos).
 */
export async function request(method, path, options = {}) {
  const { json, body, contentType, etag, auth = true, timeout = TIMEOUT_MS, token, blob = false } = options;
  const headers = { Accept: "application/json" };
  const bearer = token || (auth ? currentToken() : null);
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (etag) headers["If-None-Match"] = etag;
  let payload = body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let response;
  try {
    // no-store: the browser's HTTP cache stays out of it; the app keeps what it needs in IndexedDB.
    response = await fetch(BASE + path, {
      method, headers, body: payload, cache: "no-store", credentials: "omit", signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    throw new ApiError("network");
  }
  const type = response.headers.get("Content-Type") || "";
  let data = null;
  if (blob && response.ok) {
    data = await response.blob().catch(() => { throw new ApiError("network"); });
  } else if (response.status !== 204 && response.status !== 304 && type.includes("json")) {
    try {
      data = await response.json();
    } catch (error) {
      if (response.ok) throw new ApiError("network");  // the answer broke off on the way
    }
  }
  if (response.status >= 400) {
    if (response.status === 401 && auth && !token) onUnauthorized();
    throw new ApiError("http", response.status, data, retryAfterSeconds(response.headers.get("Retry-After")));
  }
  return { status: response.status, data, headers: response.headers };
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, json, options = {}) => request("POST", path, { ...options, json });

/** Every page of a list (per_page 500, X-Total-Count). */
export async function getAll(path) {
  const joiner = path.includes("?") ? "&" : "?";
  const rows = [];
  for (let page = 1; ; page++) {
    const { data, headers } = await get(`${path}${joiner}per_page=500&page=${page}`);
    rows.push(...data);
    const total = Number(headers.get("X-Total-Count") || rows.length);
    if (rows.length >= total || data.length === 0) return rows;
  }
}
