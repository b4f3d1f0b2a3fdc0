// Months: their status and red flag; close (after a look at the board to be frozen and who gets the flag),
// reopen (a reason required); late entries waiting in a closed month.

import { act, api, board, button, explain, flagOf, frame, h, leaderboard, load, modal, months, noCompetition, periodLabel, table, toast } from "./ui.js";

export default function mount(container) {
  const body = frame(container, "月度结账", "months");
  const draw = async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const list = await months(c.cid, c.month);
    const late = await Promise.all(list.map(async (p) => {
      if (p.late_entries !== undefined) return p.late_entries;
      if (p.status !== "closed") return 0;
      const { headers } = await api.get(`/competitions/${c.cid}/entries?period=${p.key}&status=late&per_page=1`);
      return Number(headers.get("X-Total-Count") || 0);
    }));
    const rows = list.map((p, i) => h("tr", { "data-period": p.key },
      h("td", null, periodLabel(p.key)),
      h("td", null, h("span", { class: ["status-tag", p.status] }, p.status === "closed" ? "已结账" : "进行中"),
        p.edition > 1 ? ` 第${p.edition}版（更正）` : ""),
      h("td", null, p.closed_at ? new Date(p.closed_at).toLocaleString("zh-CN", { timeZone: c.tz }) : "—"),
      h("td", { "data-test": "flag" }, p.flag ? `🚩 ${p.flag.section} ${p.flag.name}` : "—"),
      h("td", null, late[i] ? h("a", { href: `#/entries/${p.key}/late`, "data-test": "late" }, `${late[i]} 条迟到记录待处理`) : "—"),
      h("td", null, p.status === "closed"
        ? button("重新开放", (e) => reopen(e.currentTarget, c, p), "secondary small", { "data-test": "reopen" })
        : p.key < c.month || p.key === c.month
          ? button("结账", (e) => close(e.currentTarget, c, p), "primary small", { "data-test": "close" }) : null)));
    body.replaceChildren(
      h("p", { class: "hint" }, "结账冻结该月排名并授予流动红旗；重新开放须填理由，开放后迟到记录计入，再次结账即为更正版。"),
      table(["月份", "状态", "结账时间", "流动红旗", "迟到记录", ""], rows));
    return null;
  };

  async function close(btn, c, p) {
    const data = await act(btn, () => leaderboard(c.cid, p.key));
    if (!data) return;
    const flag = flagOf(data);
    const ok = await modal({
      title: `结账：${periodLabel(p.key)}`,
      body: [h("p", { class: "flag-line", "data-test": "flag-to" }, flag
        ? `流动红旗将授予：${flag.code} ${flag.name}（${flag.total} 分）`
        : "第一名并列或无人参评：本月不自动授予流动红旗。"),
      h("p", null, "以下排名将被冻结为该月的正式结果："), board(data, flag && flag.code)],
      confirm: "确认结账",
      danger: true,
    });
    if (!ok) return;
    if (await act(btn, () => api.post(`/competitions/${c.cid}/periods/${p.key}/close`, {}), `${periodLabel(p.key)} 已结账`)) await refresh();
  }

  async function reopen(btn, c, p) {
    const reason = await modal({
      title: `重新开放 ${periodLabel(p.key)}？`,
      body: h("p", null, "开放后该月可以作废、补录和否决；迟到记录开始计分。再次结账会发出更正版月报。"),
      confirm: "重新开放", danger: true, reason: "理由",
    });
    if (!reason) return;
    if (await act(btn, () => api.post(`/competitions/${c.cid}/periods/${p.key}/reopen`, { reason }), "已重新开放")) await refresh();
  }

  const refresh = () => draw().catch((error) => toast(explain(error), "error"));
  refresh();
  return null;
}
