// What every screen of a logged-in person works with: the competition and its reference data (rulebook,
// sections, teams), loaded once per login and kept offline by session.js.

import * as api from "./api.js";
import * as db from "./db.js";
import { rulebook } from "./rules.js";
import * as session from "./session.js";

export const app = {
  cid: null,
  reference: null,
  /** The rulebook as this person may use it (their sections: read at each use, they can be reassigned). */
  get book() {
    return this.reference ? rulebook(this.reference, session.state.user) : null;
  },
};
let loading = null;

/** Resolves to `app` once loaded; throws (ApiError) when nothing is cached and the server is unreachable. */
export function ready({ refresh = false } = {}) {
  if (!loading || refresh) {
    loading = load().catch((error) => {
      loading = null;
      throw error;
    });
  }
  return loading;
}

async function load() {
  const cid = await session.competitionId();
  if (!cid) return Object.assign(app, { cid, reference: null });
  const { data, refreshed } = await session.reference(cid);
  const use = (reference) => Object.assign(app, { cid, reference });
  // A fresher copy (a renamed team, a new section) serves the screens opened from now on.
  refreshed.then((fresh) => { if (app.cid === cid) use(fresh); }, () => {});
  return use(data);
}

export function reset() {
  loading = null;
  Object.assign(app, { cid: null, reference: null });
}

/** The months and their status (open/closed), from the server or the last copy kept. */
export async function periods(cid) {
  const key = `periods:${cid}`;
  try {
    const rows = await api.getAll(`/competitions/${cid}/periods`);
    await db.put("kv", rows, key);
    return rows;
  } catch (error) {
    const cached = await db.get("kv", key);
    if (cached) return cached;
    throw error;
  }
}

/** A month is open unless the server has it as closed (a month without a row has not been closed). */
export function isOpen(rows, period) {
  const row = (rows || []).find((p) => p.key === period);
  return !row || row.status !== "closed";
}
