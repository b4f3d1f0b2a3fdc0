// Who is logged in on this tablet, and the competition's reference data (rulebook, sections, teams) kept
// in IndexedDB so the form works offline. The token lives in IndexedDB (no cookies: CONTRACT.md §5).
// A 401 on any request (token expired or revoked) marks the session as needing a login: the outbox keeps
// every queued posting and sends them once the same person has logged in again.

import * as api from "./api.js";
import * as db from "./db.js";

export const events = new EventTarget();  // "change": logged in, out, or the login has run out
export const state = { user: null, needsLogin: false, lastUsername: "" };

const emit = () => events.dispatchEvent(new Event("change"));

api.configure({
  token: () => (state.user && !state.needsLogin ? state.user.token : null),
  unauthorized: () => expire(),
});

export async function restore() {
  const saved = await db.get("kv", "session");
  state.lastUsername = (await db.get("kv", "last-username")) || "";
  if (saved) {
    state.user = saved;
    state.needsLogin = Boolean(saved.expires_at && Date.parse(saved.expires_at) <= Date.now());
  }
  return state.user;
}

/** Log in: a token, then who it is (role, competition, sections). Throws ApiError. */
export async function login(username, password) {
  const { data: issued } = await api.post("/auth/token", { username, password }, { auth: false });
  const { data: me } = await api.get("/auth/me", { token: issued.token });
  const user = { ...me, token: issued.token, expires_at: issued.expires_at };
  if (state.user && state.user.token && state.user.token !== user.token) await forgetToken(state.user.token);
  await db.put("kv", user, "session");
  await db.put("kv", me.username, "last-username");
  Object.assign(state, { user, needsLogin: false, lastUsername: me.username });
  emit();
  revokeForgotten();
  return user;
}

/** Log out: the token is revoked on the server (later, if offline now) and forgotten here. */
export async function logout() {
  const user = state.user;
  await db.remove("kv", "session");
  Object.assign(state, { user: null, needsLogin: false });
  emit();
  if (user && user.token) await forgetToken(user.token);
  await revokeForgotten();
}

/** The server refused the token: ask for a login, keep everything else. */
export function expire() {
  if (state.user && !state.needsLogin) {
    state.needsLogin = true;
    emit();
  }
}

/** Refresh who we are (sections may have been reassigned); a 401 on the way marks the login as run out. */
export async function refreshMe() {
  if (!state.user || state.needsLogin) return;
  try {
    const { data: me } = await api.get("/auth/me");
    state.user = { ...state.user, ...me };
    await db.put("kv", state.user, "session");
    emit();
  } catch (error) {
    // offline, or 401 (handled by api.js): keep what we know
  }
}

// Tokens of logouts that happened offline: revoked as soon as the server can be reached.
async function forgetToken(token) {
  const pending = (await db.get("kv", "revoke-later")) || [];
  if (!pending.includes(token)) pending.push(token);
  await db.put("kv", pending, "revoke-later");
}

export async function revokeForgotten() {
  const pending = (await db.get("kv", "revoke-later")) || [];
  const left = [];
  for (const token of pending) {
    try {
      await api.request("POST", "/auth/token/revoke", { token });
    } catch (error) {
      if (error.transient) left.push(token);  // a 401 means it is dead already
    }
  }
  await db.put("kv", left, "revoke-later");
}

// -- the competition's reference data -------------------------------------------------------------

/** An office-wide user's pick of competition, kept on this device; null: the first one in use, asked afresh
 * (the one remembered may have been archived since). */
export async function chooseCompetition(cid) {
  await db.put("kv", cid, "competition-chosen");
  if (!cid) await db.remove("kv", "competition-id");
}

/** The competition this person works in: their own, or (office-wide users) the first one listed. */
export async function competitionId() {
  if (state.user.competition) return state.user.competition;
  const chosen = await db.get("kv", "competition-chosen");  // an office-wide user's pick (the console)
  if (chosen) return chosen;
  const cached = await db.get("kv", "competition-id");
  const fetching = api.get("/competitions?per_page=1").then(async ({ data }) => {
    const id = data.length ? data[0].id : null;
    await db.put("kv", id, "competition-id");
    return id;
  });
  if (cached) {
    fetching.catch(() => {});
    return cached;
  }
  return fetching;
}

/**
 * {competition, sections, teams, fetched_at}: the copy kept on the tablet when there is one — the form
 * opens at once, even on a slow link — while a fresh copy is fetched for next time (`refreshed`
 * resolves to it); from the server when nothing is kept yet.
 */
export async function reference(cid) {
  const key = `reference:${cid}`;
  const fetching = (async () => {
    const [{ data: competition }, sections, teams] = await Promise.all([
      api.get(`/competitions/${cid}`),
      api.getAll(`/competitions/${cid}/sections`),
      api.getAll(`/competitions/${cid}/teams`),
    ]);
    const fresh = { competition, sections, teams, fetched_at: new Date().toISOString() };
    await db.put("kv", fresh, key);
    return fresh;
  })();
  fetching.catch(() => {});  // handled from the start: offline, the kept copy is all there is
  const cached = await db.get("kv", key);
  return { data: cached || await fetching, refreshed: fetching };
}
