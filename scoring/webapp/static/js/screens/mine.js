// My postings of a month, as the server holds them (GET …/entries?period=&supervisor=me), with void
// while the month is open — a reason required (CONTRACT.md §3: nothing is deleted, a void is a row).

import * as api from "../api.js";
import * as context from "../context.js";
import * as db from "../db.js";
import { ask, h, toast } from "../dom.js";
import { CRITERIA, translate } from "../problems.js";
import { state as session } from "../session.js";
import { periodLabel, periodOf, previousPeriod, shortTime } from "../zone.js";

const STATUS = { counted: "计分", late: "迟到", void: "已作废" };

export default {
  name: "mine",
  title: "我的记录",
  roles: ["supervisor"],
  mount(container, params) {
    const box = h("section", { class: "mine-screen" }, h("p", { class: "loading" }, "正在读取…"));
    container.append(box);
    const photoUrls = [];
    let alive = true;
    (async () => {
      let app;
      try {
        app = await context.ready();
      } catch (error) {
        box.replaceChildren(h("p", { class: "notice" }, "需要联网读取。"));
        return;
      }
      if (!app.book) {
        box.replaceChildren(h("p", { class: "notice" }, "没有竞赛。"));
        return;
      }
      const tz = app.book.timeZone;
      const thisMonth = periodOf(new Date(), tz);
      const period = /^\d{4}-\d{2}$/.test(params[0] || "") ? params[0] : thisMonth;
      await draw(box, app, period, thisMonth, photoUrls, () => alive);
    })();
    return () => {
      alive = false;
      for (const url of photoUrls) URL.revokeObjectURL(url);
    };
  },
};

async function draw(box, app, period, thisMonth, photoUrls, alive) {
  const me = session.user.username;
  const key = `mine:${app.cid}:${period}`;
  let entries;
  let offline = false;
  let periods = [];
  try {
    [entries, periods] = await Promise.all([
      api.getAll(`/competitions/${app.cid}/entries?period=${period}&supervisor=${encodeURIComponent(me)}`),
      context.periods(app.cid),
    ]);
    await db.put("kv", entries, key);
  } catch (error) {
    entries = (await db.get("kv", key)) || [];
    offline = true;
  }
  if (!alive()) return;
  const open = context.isOpen(periods, period);
  entries.sort((a, b) => b.observed_at.localeCompare(a.observed_at));
  const tz = app.book.timeZone;
  const items = new Map(app.book.criteria.flatMap((c) => c.items.map((i) => [i.code, i])));
  const sections = new Map(app.reference.sections.map((s) => [s.code, s]));
  const teams = new Map(app.reference.teams.map((t) => [t.code, t]));
  const counted = entries.filter((e) => e.status !== "void");

  const rows = entries.map((entry) => {
    const item = entry.item ? items.get(entry.item) : null;
    const actions = [];
    let gallery = null;
    if (entry.status !== "void" && open && !offline) {
      actions.push(h("button", { type: "button", class: "danger", onclick: () => voidEntry(entry) }, "作废"));
    }
    if (entry.photos && entry.photos.length) {
      gallery = h("div", { class: "thumbs" });
      actions.push(h("button", { type: "button", class: "secondary", onclick: async (event) => {
        event.target.disabled = true;
        for (const id of entry.photos) {
          try {
            const { data } = await api.get(`/photos/${id}?size=thumb`, { blob: true });
            const url = URL.createObjectURL(data);
            photoUrls.push(url);
            gallery.append(h("img", { src: url, alt: "照片", class: "thumb-img" }));
          } catch (error) {
            gallery.append(h("span", { class: "hint" }, "照片读取失败"));
          }
        }
      } }, `照片 ${entry.photos.length} 张`));
    }
    return h("article", { class: `entry status-${entry.status}`, "data-entry-id": entry.id }, h("div", { class: "body" },
      h("div", { class: "what" },
        h("b", { class: `points ${entry.kind}` }, `${entry.kind === "deduction" ? "扣" : "加"}${entry.points} 分`),
        ` ${entry.section} ${sections.get(entry.section) ? sections.get(entry.section).name : ""}`,
        entry.team ? ` · ${teams.get(entry.team) ? teams.get(entry.team).name : entry.team}` : "",
        ` · ${CRITERIA[entry.criterion] || "通用"}${item ? ` ${item.code} ${item.name}` : ""}`),
      h("div", { class: "meta" }, shortTime(new Date(entry.observed_at), tz), entry.chainage ? ` · ${entry.chainage}` : "",
        ` · #${entry.id}`, h("span", { class: `status ${entry.status}` }, STATUS[entry.status] || entry.status)),
      entry.note ? h("div", { class: "note" }, entry.note) : null,
      entry.status === "void" ? h("div", { class: "result warn" }, `作废理由：${entry.void_reason || ""}`) : null),
    actions.length ? h("div", { class: "actions" }, actions) : null, gallery);
  });

  async function voidEntry(entry) {
    const reason = await ask({ title: `作废记录 #${entry.id}？`, label: "作废理由", confirm: "作废", danger: true });
    if (!reason) return;
    try {
      await api.post(`/entries/${entry.id}/void`, { reason });
      toast("已作废");
    } catch (error) {
      toast(error.kind === "network" ? "需要联网才能作废" : `作废失败：${translate((error.problem && error.problem.detail) || error.message)}`, "error");
    }
    await draw(box, app, period, thisMonth, photoUrls, alive);
  }

  const previous = previousPeriod(thisMonth);
  box.replaceChildren(
    h("div", { class: "mine-head" },
      h("h2", null, `${periodLabel(period)} 我的记录`),
      h("div", { class: "chips" },
        h("a", { class: ["chip", period === thisMonth && "active"], href: "#/mine" }, "本月"),
        h("a", { class: ["chip", period === previous && "active"], href: `#/mine/${previous}` }, "上月"))),
    h("p", { class: "hint" }, `${counted.length} 条有效记录`, open ? "；本月未结账，可以作废（须填理由）" : "；该月已结账，作废请联系竞赛办",
      offline ? "。离线：显示的是上次读取的内容" : ""),
    rows.length ? h("div", { class: "entries" }, rows) : h("p", { class: "empty" }, "这个月还没有记录。"));
}
