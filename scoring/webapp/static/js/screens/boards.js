// The live boards, from the same leaderboard API the wall uses: polled with If-None-Match (a 304 costs
// almost nothing), the last copy kept for when the network is gone.

import * as api from "../api.js";
import * as context from "../context.js";
import * as db from "../db.js";
import { h } from "../dom.js";
import { CRITERIA } from "../problems.js";
import { state as session } from "../session.js";
import { periodLabel, shortTime } from "../zone.js";

const POLL_MS = 15000;
const BOARDS = { sections: "标段", teams: "党员突击队" };

export default {
  name: "boards",
  title: "排行榜",
  roles: ["supervisor", "admin", "viewer", "contractor"],
  mount(container, params) {
    const board = BOARDS[params[0]] ? params[0] : "sections";
    const status = h("p", { class: "hint", role: "status" });
    const table = h("div", { class: "board-table" }, h("p", { class: "loading" }, "正在读取…"));
    const title = h("h2", null, "排行榜");
    container.append(h("section", { class: "boards-screen" },
      h("div", { class: "boards-head" }, title,
        h("div", { class: "chips" }, Object.entries(BOARDS).map(([code, label]) =>
          h("a", { class: ["chip", code === board && "active"], href: `#/boards/${code}` }, `${label}榜`)))),
      status, table));
    let timer = null;
    let stopped = false;
    let cid = null;
    let tz = "Asia/Shanghai";
    const key = () => `board:${cid}:${board}`;

    async function poll() {
      const cached = (await db.get("kv", key())) || null;
      try {
        const { status: code, data, headers } = await api.get(
          `/competitions/${cid}/leaderboard?board=${board}&period=current`, { etag: cached && cached.etag });
        if (code === 200) {
          await db.put("kv", { etag: headers.get("ETag"), data, at: new Date().toISOString() }, key());
          draw(data);
        } else if (cached) {
          draw(cached.data);  // 304: unchanged
        }
        status.textContent = `每 ${POLL_MS / 1000} 秒自动更新 · 最后同步 ${shortTime(new Date(), tz)}`;
        status.className = "hint";
      } catch (error) {
        if (cached) draw(cached.data);
        status.textContent = error.kind === "network"
          ? `离线：显示 ${cached ? shortTime(new Date(cached.at), tz) : "—"} 的数据`
          : `读取失败（${error.status}）`;
        status.className = "hint warn";
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }

    let shown = null;
    function draw(data) {
      if (shown === data) return;
      shown = data;
      title.textContent = `${periodLabel(data.period)} ${BOARDS[board]}排行榜${data.status === "closed" ? "（已结账）" : ""}`;
      const mine = new Set(session.user.sections || []);
      const head = h("tr", null, h("th", null, "排名"), h("th", { class: "name" }, BOARDS[board]), h("th", null, "总分"),
        Object.values(CRITERIA).map((label) => h("th", { class: "crit" }, label)), h("th", null, "升降"));
      const rows = data.rows.map((row) => h("tr", {
        class: [row.vetoed && "vetoed", !row.assessed && !row.vetoed && "unassessed", mine.has(row.code) && "mine"],
        "data-code": row.code,
      },
      h("td", { class: "rank" }, row.rank ?? "—"),
      h("td", { class: "name" }, row.name, row.vetoed ? h("span", { class: "veto-tag" }, "一票否决") : null),
      h("td", { class: "total" }, row.total === null || row.total === undefined ? "未考核" : Number(row.total).toFixed(2)),
      Object.keys(CRITERIA).map((code) => h("td", { class: "crit" },
        row.criteria && row.criteria[code] !== null && row.criteria[code] !== undefined ? String(row.criteria[code]) : "—")),
      h("td", { class: ["move", row.movement > 0 && "up", row.movement < 0 && "down"] },
        row.movement === null || row.movement === undefined ? "—" : row.movement > 0 ? `↑${row.movement}` : row.movement < 0 ? `↓${-row.movement}` : "—")));
      table.replaceChildren(h("table", { class: "board" }, h("thead", null, head), h("tbody", null, rows)));
    }

    context.ready().then((app) => {
      cid = app.cid;
      tz = app.book ? app.book.timeZone : tz;
      if (!stopped) poll();
    }).catch(() => { table.replaceChildren(h("p", { class: "notice" }, "需要联网读取。")); });
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  },
};
