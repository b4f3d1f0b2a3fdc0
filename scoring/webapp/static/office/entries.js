// Entries: filtered by month, section, team, criterion, status and supervisor; one opened with its photos;
// voided with a reason (nothing is deleted: a void is a row). Address: #/entries/<month>/<status>/<id>.

import { CRITERIA, act, api, button, explain, field, frame, h, load, modal, months, noCompetition, num, periodLabel, select, table } from "./ui.js";

const STATUS = { counted: "计分", late: "迟到", void: "已作废" };

export default function mount(container, params) {
  const body = frame(container, "记录", "entries");
  const urls = [];
  let alive = true;
  (async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const [month = c.month, status = "", openId = ""] = params;
    const list = await months(c.cid, c.month);
    const f = {
      period: select([["", "全部月份"], ...list.map((p) => [p.key, periodLabel(p.key)])], month, { "data-test": "f-period" }),
      section: select([["", "全部标段"], ...c.sections.map((s) => [s.code, `${s.code} ${s.name}`])], ""),
      team: select([["", "全部突击队"], ...c.teams.map((t) => [t.code, `${t.code} ${t.name}`])], ""),
      criterion: select([["", "全部项目"], ...Object.entries(CRITERIA)], ""),
      status: select([["", "全部状态"], ...Object.entries(STATUS)], status === "all" ? "" : status, { "data-test": "f-status" }),
      supervisor: h("input", { type: "text", placeholder: "用户名", "data-test": "f-supervisor" }),
    };
    const results = h("div");
    const detail = h("div", { class: "entry-detail" });
    const query = () => Object.entries(f).filter(([, el]) => el.value.trim())
      .map(([k, el]) => `${k}=${encodeURIComponent(el.value.trim())}`).join("&");
    const names = new Map([...c.sections, ...c.teams].map((s) => [s.code, s.name]));
    const items = new Map(c.competition.criteria.flatMap((cr) => cr.items.map((i) => [i.code, i.name])));
    let shown = [];
    let searches = 0;

    async function search() {
      const mine = ++searches;
      const found = await api.getAll(`/competitions/${c.cid}/entries${query() ? `?${query()}` : ""}`);
      if (mine !== searches) return; // a later filter's answer wins, however late this one arrives
      shown = found;
      shown.sort((a, b) => b.id - a.id);
      results.replaceChildren(h("p", { class: "hint" }, `${shown.length} 条`), table(
        ["编号", "时间", "标段/突击队", "项目", "分值", "监理", "状态"],
        shown.map((e) => h("tr", { class: "clickable", "data-entry": e.id, onclick: () => open(e) },
          h("td", null, `#${e.id}`), h("td", null, new Date(e.observed_at).toLocaleString("zh-CN", { timeZone: c.tz })),
          h("td", null, e.section, e.team ? ` / ${names.get(e.team) || e.team}` : ""),
          h("td", null, `${CRITERIA[e.criterion] || "通用"} ${e.item || ""} ${items.get(e.item) || ""}`),
          h("td", { class: "n" }, Number(e.points) === 0 ? "0" : `${e.kind === "deduction" ? "−" : "+"}${num(e.points)}`),  // 0: inspected, nothing found
          h("td", null, e.supervisor), h("td", null, h("span", { class: ["status-tag", e.status] }, STATUS[e.status] || e.status))))));
    }

    async function open(e) {
      for (const url of urls.splice(0)) URL.revokeObjectURL(url);
      const photos = h("div", { class: "photo-row" });
      detail.replaceChildren(h("h3", null, `记录 #${e.id}`),
        h("dl", { class: "facts" },
          ...[["标段", `${e.section} ${names.get(e.section) || ""}`], ["突击队", e.team ? `${e.team} ${names.get(e.team) || ""}` : "—"],
            ["项目", `${CRITERIA[e.criterion] || "通用加分"} ${e.item || ""} ${items.get(e.item) || ""}`],
            ["分值", `${e.kind === "deduction" ? "扣" : "加"} ${num(e.points)} 分`], ["月份", e.period],
            ["检查时间", new Date(e.observed_at).toLocaleString("zh-CN", { timeZone: c.tz })], ["桩号", e.chainage || "—"],
            ["监理", e.supervisor], ["说明", e.note || "—"], ["状态", STATUS[e.status] || e.status],
            ...(e.status === "void" ? [["作废理由", `${e.void_reason}（${e.voided_by || ""}）`]] : []),
            ["修改历史", h("a", { href: `#/audit/entry:${e.id}`, "data-test": "entry-history" }, "审计记录")]]
            .flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)])),
        photos,
        e.status === "void" ? null : button("作废…", async (ev) => {
          const reason = await modal({ title: `作废记录 #${e.id}？`, body: h("p", null, "记录保留在案，不再计分。"),
            confirm: "作废", danger: true, reason: "作废理由" });
          if (!reason) return;
          const voided = await act(ev.currentTarget, () => api.post(`/entries/${e.id}/void`, { reason }), `#${e.id} 已作废`);
          if (voided) {
            await search();
            open(voided.data);
          }
        }, "danger", { "data-test": "void" }));
      detail.scrollIntoView({ block: "nearest" });
      for (const id of e.photos || []) {
        try {
          const { data } = await api.get(`/photos/${id}?size=thumb`, { blob: true });
          const url = URL.createObjectURL(data);
          urls.push(url);
          if (alive) photos.append(h("img", { src: url, alt: "照片", "data-photo": id }));
        } catch (error) {
          photos.append(h("span", { class: "hint" }, `照片读取失败：${explain(error)}`));
        }
      }
    }

    for (const el of Object.values(f)) el.addEventListener("change", () => act(null, search));
    body.replaceChildren(h("div", { class: "toolbar" },
      field("月份", f.period), field("标段", f.section), field("突击队", f.team), field("项目", f.criterion),
      field("状态", f.status), field("监理", f.supervisor), button("查询", (e) => act(e.currentTarget, search), "primary small")),
    detail, results);
    await search();
    const wanted = shown.find((e) => String(e.id) === openId);
    if (wanted) open(wanted);
    return null;
  })().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return () => {
    alive = false;
    for (const url of urls) URL.revokeObjectURL(url);
  };
}
