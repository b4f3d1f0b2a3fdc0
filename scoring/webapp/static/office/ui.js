// What the console's screens share: the competition in use, errors in Chinese, tables, dialogs, downloads.
// Loaded on demand (js/office.js) with its own style sheet; everything goes through the public API.

import * as api from "../js/api.js";
import * as context from "../js/context.js";
import { h, toast } from "../js/dom.js";
import { CRITERIA, refusal, translate } from "../js/problems.js";
import * as session from "../js/session.js";
import { knownZone, periodLabel, periodOf } from "../js/zone.js";

export { api, h, toast, CRITERIA, periodLabel, translate };

if (!document.querySelector("link[data-office]")) {
  document.head.append(h("link", { rel: "stylesheet", href: "/app/static/office/console.css", "data-office": "" }));
}

/** {cid, competition, sections, teams, tz, month} of the competition in use, fresh from the server; cid null
 * when there is none yet. */
export async function load() {
  const cid = await session.competitionId();
  if (!cid) return { cid: null, competition: null, sections: [], teams: [], tz: "Asia/Shanghai", month: periodOf(new Date(), "Asia/Shanghai") };
  const [{ data: competition }, sections, teams] = await Promise.all([api.get(`/competitions/${cid}`),
    api.getAll(`/competitions/${cid}/sections`), api.getAll(`/competitions/${cid}/teams`)]);
  // archived meanwhile (on another PC): an office-wide user moves on to one in use, as after archiving it here
  if (competition.archived && !session.state.user.competition) {
    await moveOn();
    return load();
  }
  const tz = knownZone(competition.timezone);
  return { cid, competition, sections, teams, tz, month: periodOf(new Date(), tz) };
}

/** Work in another competition from now on (an office-wide user's choice, kept on this device; null: none). */
export async function choose(cid) {
  await session.chooseCompetition(cid);
  context.reset();
}

/** The competition in use was archived: work in the first one still in use; resolves to its id, or null when
 * none is left (the screens then say there is no competition). */
export async function moveOn() {
  const { data } = await api.get("/competitions?per_page=1");
  const next = data.length ? data[0].id : null;
  await choose(next);
  return next;
}

const STATUS = { 400: "请求格式错误", 401: "登录已失效", 403: "无权操作", 404: "找不到", 409: "冲突", 422: "内容不合规", 429: "操作太频繁" };

/** An ApiError as one line of Chinese. */
export function explain(error) {
  if (!error || error.kind !== "http") return error && error.kind === "network" ? "无法连接服务器，请检查网络。" : (error && error.message) || String(error);
  const lines = refusal(error.status, error.problem).lines;
  return `${STATUS[error.status] || "服务器拒绝"}（${error.status}）${lines.length ? `：${lines.join("；")}` : ""}`;
}

/** Run an action from a button: disabled meanwhile, a refusal shown as a toast; resolves to its result or null. */
export async function act(button, action, done) {
  if (button) button.disabled = true;
  try {
    const result = await action();
    if (done) toast(done);
    return result;
  } catch (error) {
    toast(explain(error), "error");
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

export const button = (label, onclick, cls = "secondary small", extra = {}) =>
  h("button", { type: "button", class: cls, onclick, ...extra }, label);

export const field = (label, control, cls) => h("label", { class: ["fld", cls] }, h("span", null, label), control);

export function select(options, value, extra = {}) {
  return h("select", extra, options.map(([v, label]) => h("option", { value: v, selected: String(v) === String(value) }, label)));
}

export function table(head, rows, extra = {}) {
  return h("div", { class: "scroll" }, h("table", { class: "grid", ...extra },
    h("thead", null, h("tr", null, head.map((label) => h("th", null, label)))),
    h("tbody", null, rows.length ? rows : h("tr", null, h("td", { colspan: head.length, class: "empty" }, "没有数据")))));
}

export const num = (x) => (x === null || x === undefined ? "—" : String(Number(x)));

/** A board as a compact table; `mark` is a row code to highlight. */
export function board(data, mark) {
  return table(["排名", "名称", "总分", "说明"], data.rows.map((r) => h("tr", {
    class: [r.code === mark && "marked", r.vetoed && "vetoed"], "data-code": r.code,
  }, h("td", null, r.rank ?? "—"), h("td", null, `${r.code} ${r.name}`), h("td", { class: "n" }, r.vetoed ? "0" : num(r.total)),
  h("td", null, r.vetoed ? `一票否决：${r.veto_reason || ""}` : r.assessed ? "" : "未考核"))), { class: "grid board-mini" });
}

/** Who gets the red flag of a board (CONTRACT.md §4): the section alone at rank 1, else nobody. */
// The red flag drawn as on the wall, not the 🚩 emoji: an office PC or a kiosk without an emoji font shows a box.
const SVG = "http://www.w3.org/2000/svg";
const FLAG = [["M3 3a1 1 0 0 1 2 0v19a1 1 0 0 1-2 0Z", "#8a8a8a"],
  ["M5 3C9 1 12 6 16 4c2-1 4-1 5-.5V13c-2-.5-3-.2-5 .6C12 15.5 9 10.5 5 12.5Z", "#e8222b"],
  ["M9.5 5.8l.7 1.5 1.6.1-1.2 1 .4 1.6-1.5-.9-1.4.9.4-1.6-1.2-1 1.6-.1Z", "#ffd700"]];
export function flagMark() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "flag-mark");
  svg.setAttribute("aria-hidden", "true");
  for (const [d, fill] of FLAG) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", fill);
    svg.append(path);
  }
  return svg;
}

export function flagOf(data) {
  const first = data.rows.filter((r) => r.rank === 1);
  return first.length === 1 ? first[0] : null;
}

export const leaderboard = async (cid, period, kind = "sections") =>
  (await api.get(`/competitions/${cid}/leaderboard?board=${kind}&period=${period}`)).data;

/**
 * A modal with content; resolves to true (or the reason typed, when `reason` names one) or null.
 * body: nodes shown above the buttons.
 */
export function modal({ title, body, confirm, danger = false, reason = null }) {
  return new Promise((resolve) => {
    const input = reason ? h("textarea", { rows: 2, class: "answer", "data-test": "reason", "aria-label": reason }) : null;
    const error = h("p", { class: "field-error", hidden: true });
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    const dialog = h("dialog", { class: "ask wide-dialog" }, h("h2", null, title), body,
      input ? h("label", null, reason, input) : null, error,
      h("div", { class: "actions" }, button("取消", () => close(null), "secondary"),
        button(confirm, () => {
          if (!input) return close(true);
          if (!input.value.trim()) {
            error.textContent = `请填写${reason}`;
            error.hidden = false;
            return null;
          }
          return close(input.value.trim());
        }, danger ? "danger" : "primary", { "data-test": "confirm" })));
    dialog.addEventListener("cancel", () => { dialog.remove(); resolve(null); });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Fetch a file of the API with the token and hand it to the browser as a download. */
export async function download(path, filename) {
  const { data } = await api.get(path, { blob: true });
  const url = URL.createObjectURL(data);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export const downloadButton = (label, path, filename) =>
  button(label, (event) => act(event.currentTarget, () => download(path, filename)), "secondary small", { "data-download": filename });

/** The months a competition has (its periods) plus this month, newest first. */
export async function months(cid, month) {
  const rows = await api.getAll(`/competitions/${cid}/periods`);
  if (!rows.some((p) => p.key === month)) rows.push({ key: month, status: "open", closed_at: null, flag: null });
  return rows.sort((a, b) => b.key.localeCompare(a.key));
}

/** A screen's frame: a title, a body that says "loading", and a way to show it cannot work. */
export function frame(container, title, cls) {
  const body = h("div", { class: "office-body" }, h("p", { class: "loading" }, "正在读取…"));
  container.append(h("section", { class: ["office", cls] }, h("h2", null, title), body));
  return body;
}

export function noCompetition(body) {
  body.replaceChildren(h("p", { class: "notice" }, "还没有竞赛。请到「竞赛设置」新建一个。"));
}
