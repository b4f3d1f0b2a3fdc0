// The outbox (CONTRACT.md §5): every posting is first stored on the tablet (IndexedDB) and then sent when
// the network allows — at once, on the "online" event, on a timer and on the 发送 button. Nothing leaves
// the outbox before the server has answered for it:
//
//   queued (待发送) → sending (发送中) → sent (已提交, with the server's id)
//                                     ↘ returned (被退回, with the server's reason; kept until discarded)
//
// No answer (offline, server down, timeout) or a 5xx/429 puts the posting back to "queued" and the next
// try waits (Retry-After when the server gives one, else a growing pause). The server stores a posting
// once per client_id, so a resend after a lost answer is harmless ("duplicate" → sent). Once sending has
// started a posting is never edited again: the server would refuse the same client_id with other content.
// Photos go first (their id is the SHA-256 of the bytes, known on the tablet), then the entries, in
// batches when several wait.
//
// Records belong to the user who made them; only that user's token sends them. A record's `type` names
// how it is sent once its photos are up (SENDERS): entries today; a notice's answer (§7) is one more.

import * as api from "./api.js";
import * as db from "./db.js";
import { refusal } from "./problems.js";
import { state as session } from "./session.js";

export const events = new EventTarget();  // "change"
export const status = { busy: false, message: "", retryAt: 0, serverAsked: false };

const records = new Map();
const TICK_MS = 5000;
const MAX_PAUSE_MS = 5 * 60 * 1000;
const BATCH = 100;
const KEEP_SENT_MS = 3 * 24 * 3600 * 1000;
const UPLOAD_TIMEOUT_MS = 180000;  // a photo over a slow 3G link
const channel = "BroadcastChannel" in globalThis ? new BroadcastChannel("outbox") : null;
let failures = 0;
let running = null;

function emit(broadcast = true) {
  events.dispatchEvent(new Event("change"));
  if (broadcast && channel) channel.postMessage("change");
}

async function save(record) {
  records.set(record.client_id, record);
  await db.put("outbox", record);
}

// -- reading -------------------------------------------------------------------------------------

/** Newest first. */
export function list() {
  return [...records.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
}

export const get = (clientId) => records.get(clientId);

/** Postings the server has not acknowledged: waiting, on their way, or returned. */
export function pendingCount() {
  let n = 0;
  for (const r of records.values()) if (r.state !== "sent") n++;
  return n;
}

export function refusalOf(record) {
  return record.refusal ? refusal(record.refusal.status, record.refusal.problem) : null;
}

/** Still the tablet's own: never offered to the server, so it may be changed or dropped freely. */
export const editable = (record) => record.state === "queued" && !record.tried;

/** Another tab changed the outbox: show what it stored (its "sending" is its own business). */
async function reread() {
  records.clear();
  for (const record of await db.all("outbox")) records.set(record.client_id, record);
  emit(false);
}

// -- changing -----------------------------------------------------------------------------------

/** Load the outbox at start-up. A posting left "sending" by a closed tab goes back to "queued". */
export async function load() {
  records.clear();
  const now = Date.now();
  for (const record of await db.all("outbox")) {
    if (record.state === "sent" && now - Date.parse(record.sent_at) > KEEP_SENT_MS) {
      await db.remove("outbox", record.client_id);
      continue;
    }
    if (record.state === "sending" || record.editing) {
      record.state = record.state === "sending" ? "queued" : record.state;
      record.editing = false;
      await db.put("outbox", record);
    }
    records.set(record.client_id, record);
  }
  emit(false);
}

/** Queue a posting (the body carries its client_id) and try to send it at once. */
export async function enqueue({ type = "entry", body, photos, competition, summary, target = null }) {
  const record = {
    client_id: body.client_id, type, target, owner: session.user.username, competition,
    created_at: new Date().toISOString(), state: "queued", tried: false, editing: false,
    body, photos: photos.map((p) => ({ ...p, uploaded: false })), summary,
  };
  await save(record);
  emit();
  flush();
  return record;
}

/** Hold a queued posting back from sending while it is being changed; false if sending has begun. */
export async function beginEdit(clientId) {
  const record = records.get(clientId);
  if (!record || !editable(record)) return false;
  await save({ ...record, editing: true });
  emit();
  return true;
}

export async function endEdit(clientId, change) {
  const record = records.get(clientId);
  if (!record) return;
  if (change && record.tried) throw new Error("这条记录已开始发送，不能再修改");
  const next = { ...record, editing: false };
  if (change) {
    next.body = change.body;
    next.photos = change.photos.map((p) => ({ ...p, uploaded: false }));
    next.summary = change.summary;
  }
  await save(next);
  emit();
  flush();
}

/** Drop a posting on purpose: a returned one, or one the server has never been offered. */
export async function discard(clientId) {
  const record = records.get(clientId);
  if (!record || !(record.state === "returned" || record.state === "sent" || editable(record))) return false;
  records.delete(clientId);
  await db.remove("outbox", clientId);
  emit();
  return true;
}

export async function clearSent() {
  for (const record of list()) if (record.state === "sent") await discard(record.client_id);
}

// -- sending ------------------------------------------------------------------------------------

/**
 * Send what waits. Calls made while a send runs share it. `manual` (the 发送 button) does not wait
 * out the pause after a failed try, but does wait out a Retry-After the server asked for.
 */
export function flush({ manual = false } = {}) {
  if (!running) {
    running = send(manual).finally(() => {
      running = null;
      status.busy = false;
      emit(false);
    });
  }
  return running;
}

function sendable() {
  const user = session.user;
  if (!user || session.needsLogin) return [];
  return [...records.values()]
    .filter((r) => r.state === "queued" && !r.editing && r.owner === user.username)
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
}

async function send(manual) {
  const ready = sendable();
  if (!ready.length) {
    if (session.needsLogin && [...records.values()].some((r) => r.state === "queued")) {
      status.message = "登录已失效：请重新登录，待发送的记录都还在";
    }
    return;
  }
  if (navigator.onLine === false) {
    // The device knows it has no network: nothing is offered, so every posting stays the tablet's own
    // (still editable) until the "online" event.
    status.message = "设备离线：记录已保存在本机，联网后自动发送";
    return;
  }
  const wait = status.retryAt - Date.now();
  if (wait > 0 && (!manual || status.serverAsked)) {
    if (manual) status.message = `服务器繁忙，约 ${Math.ceil(wait / 1000)} 秒后自动重试`;
    return;
  }
  status.busy = true;
  status.message = "正在发送…";
  emit(false);
  try {
    const byType = new Map();
    for (const record of ready) {
      if (!(await uploadPhotos(record))) continue;
      if (!byType.has(record.type)) byType.set(record.type, []);
      byType.get(record.type).push(record);
    }
    for (const [type, group] of byType) await SENDERS[type](group);
    failures = 0;
    Object.assign(status, { retryAt: 0, serverAsked: false });
    const left = sendable().length;
    const returned = ready.filter((r) => records.get(r.client_id)?.state === "returned").length;
    status.message = returned ? `${returned} 条被服务器退回，请查看原因` : left ? "" : "全部已提交";
    if (left) setTimeout(() => flush(), 0);  // queued while this send ran
  } catch (error) {
    await putBack();
    if (!(error instanceof api.ApiError)) throw error;
    if (error.status === 401) {
      status.message = "登录已失效：请重新登录，待发送的记录都还在";
      return;
    }
    failures += 1;
    const pause = error.retryAfter !== null ? error.retryAfter * 1000 : Math.min(MAX_PAUSE_MS, 5000 * 2 ** (failures - 1));
    Object.assign(status, { retryAt: Date.now() + pause, serverAsked: error.retryAfter !== null });
    status.message = error.kind === "network"
      ? `无法连接服务器，记录已保存在本机，${Math.ceil(pause / 1000)} 秒后自动重试`
      : `服务器暂时不可用（${error.status}），${Math.ceil(pause / 1000)} 秒后自动重试`;
  }
}

async function mark(record, change) {
  const next = { ...records.get(record.client_id), ...change };
  await save(next);
  return next;
}

/** After a failed try: whatever was on its way waits again (it stays marked as tried). */
async function putBack() {
  for (const record of records.values()) {
    if (record.state === "sending") await mark(record, { state: "queued" });
  }
  emit();
}

async function refuse(record, error) {
  await mark(record, { state: "returned", refusal: { status: error.status, problem: error.problem },
                       returned_at: new Date().toISOString() });
}

/** Upload a posting's photos not yet on the server. False when the server refused one. */
async function uploadPhotos(record) {
  const waiting = record.photos.filter((p) => !p.uploaded);
  if (!waiting.length) return true;
  record = await mark(record, { state: "sending", tried: true, last_attempt_at: new Date().toISOString() });
  emit();
  for (const photo of waiting) {
    try {
      const { data } = await api.request("POST", `/competitions/${record.competition}/photos`, {
        body: photo.blob, contentType: photo.blob.type || "image/jpeg", timeout: UPLOAD_TIMEOUT_MS,
      });
      if (data && data.id && data.id !== photo.id) {
        await refuse(record, { status: 422, problem: { errors: { photos: [`照片校验值不一致（${photo.id.slice(0, 8)}…）`] } } });
        emit();
        return false;
      }
    } catch (error) {
      if (!(error instanceof api.ApiError) || error.transient || error.status === 401) throw error;
      await refuse(record, error);
      emit();
      return false;
    }
    record = await mark(record, {
      photos: records.get(record.client_id).photos.map((p) => (p.id === photo.id ? { ...p, uploaded: true } : p)),
    });
  }
  return true;
}

/** Entries: one POST for one, `{"entries": [...]}` batches (per competition) when several wait. */
async function postEntries(all) {
  for (let i = 0; i < all.length; i += BATCH) await postEntryBatch(all.slice(i, i + BATCH));
}

async function postEntryBatch(batch) {
  const stamp = new Date().toISOString();
  for (const record of batch) {
    await mark(record, { state: "sending", tried: true, last_attempt_at: stamp });
  }
  emit();
  const byCompetition = new Map();
  for (const record of batch) {
    if (!byCompetition.has(record.competition)) byCompetition.set(record.competition, []);
    byCompetition.get(record.competition).push(record);
  }
  for (const [cid, group] of byCompetition) {
    const path = `/competitions/${cid}/entries`;
    if (group.length === 1) await postOne(path, group[0]);
    else await postBatch(path, group);
  }
  emit();
}

async function postOne(path, record) {
  try {
    const { data } = await api.post(path, record.body);
    await accepted(record, data.id, data.status, data.warnings);
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.transient || error.status === 401) throw error;
    await refuse(record, error);
  }
}

async function postBatch(path, group) {
  let data;
  try {
    ({ data } = await api.post(path, { entries: group.map((r) => r.body) }));
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.transient || error.status === 401) throw error;
    // The batch as a whole was refused (too large …): each one alone gets its own answer.
    for (const record of group) await postOne(path, record);
    return;
  }
  const results = (data && data.results) || [];
  for (const [i, record] of group.entries()) {
    const result = results[i];
    if (!result || result.client_id !== record.client_id) {
      await mark(record, { state: "queued" });  // no answer for it: try again
    } else if (result.status === "created" || result.status === "duplicate") {
      await accepted(record, result.id, result.entry_status, result.warnings);
    } else {
      await refuse(record, { status: result.status === "conflict" ? 409 : 422,
                             problem: { errors: result.errors || {} } });
    }
  }
}

async function accepted(record, id, entryStatus, warnings) {
  // The photos are on the server now: keep their sizes for the list, drop the bytes.
  const photos = records.get(record.client_id).photos.map(({ blob, ...kept }) => ({ ...kept, uploaded: true }));
  await mark(record, { state: "sent", server_id: id, entry_status: entryStatus || null, warnings: warnings || [],
                       sent_at: new Date().toISOString(), photos });
  // A deduction beyond what its item has left is stored, with a warning the supervisor should see now.
  for (const warning of warnings || []) events.dispatchEvent(new CustomEvent("warning", { detail: warning }));
}

/** A notice's answer or re-check (§7): one POST each to its notice (`target`); a resend is stored once. */
const toNotice = (action) => async (group) => {
  for (const record of group) {
    await mark(record, { state: "sending", tried: true, last_attempt_at: new Date().toISOString() });
    emit();
    await postOne(`/notices/${record.target}/${action}`, record);
  }
  emit();
};

const SENDERS = { entry: postEntries, response: toNotice("responses"), review: toNotice("review") };

// -- when to send -------------------------------------------------------------------------------

/** At load, when the network comes back, on a timer, when the app is looked at again. */
export function start() {
  window.addEventListener("online", () => {
    if (!status.serverAsked) status.retryAt = 0;  // the network is back: no need to wait out our own pause
    failures = 0;
    flush();
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flush(); });
  setInterval(() => {
    if (!running && Date.now() >= status.retryAt && sendable().length) flush();
  }, TICK_MS);
  if (channel) channel.onmessage = () => reread();  // another tab of the app changed the outbox
  flush();
}
