// Months: their status and red flag; close (after a look at the board to be frozen and who gets the flag),
// reopen (a reason required); late entries waiting in a closed month; when the competition asks for approval
// (report_approval), a closed month's draft report approved and sent (GET …/periods says which one waits).

import { act, api, board, button, explain, flagMark, flagOf, frame, h, leaderboard, load, modal, months, noCompetition, periodLabel, table, toast } from "./ui.js";

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
    const approval = Boolean(c.competition.report_approval);
    const when = (iso) => new Date(iso).toLocaleString("zh-CN", { timeZone: c.tz });
    const report = (p) => {
      if (p.awaiting_approval) {
        return [h("span", { class: "status-tag pending", "data-test": "approval" }, "待审批"), " ",
          button("审批并发送", (e) => approve(e.currentTarget, c, p), "primary small", { "data-test": "approve" })];
      }
      if (p.approved_at) {
        return [h("span", { class: "status-tag approved", "data-test": "approval" }, "已审批"),
          h("span", { class: "approved-by" }, ` ${p.approved_by || ""} ${when(p.approved_at)}`)];
      }
      return "—";
    };
    const rows = list.map((p, i) => h("tr", { "data-period": p.key },
      h("td", null, periodLabel(p.key)),
      h("td", null, h("span", { class: ["status-tag", p.status] }, p.status === "closed" ? "已结账" : "进行中"),
        p.edition > 1 ? ` 第${p.edition}版（更正）` : ""),
      h("td", null, p.closed_at ? new Date(p.closed_at).toLocaleString("zh-CN", { timeZone: c.tz }) : "—"),
      h("td", { "data-test": "flag" }, p.flag ? [flagMark(), `${p.flag.section} ${p.flag.name}`] : "—"),
      approval ? h("td", { "data-test": "report" }, report(p)) : null,
      h("td", null, late[i] ? h("a", { href: `#/entries/${p.key}/late`, "data-test": "late" }, `${late[i]} 条迟到记录待处理`) : "—"),
      h("td", null, p.status === "closed"
        ? button("重新开放", (e) => reopen(e.currentTarget, c, p), "secondary small", { "data-test": "reopen" })
        : p.key < c.month || p.key === c.month
          ? button("结账", (e) => close(e.currentTarget, c, p), "primary small", { "data-test": "close" }) : null)));
    const auto = c.competition.auto_close;
    body.replaceChildren(
      h("p", { class: "hint" }, "结账冻结该月排名并授予流动红旗；重新开放须填理由，开放后迟到记录计入，再次结账即为更正版。"),
      h("p", { class: "hint", "data-test": "policy" }, auto ? `每月 ${auto.day} 日 ${auto.time} 自动结账上月` : "手动结账",
        approval ? "；月报需审批：结账后为草稿，点「审批并发送」后才发给收件人和群。" : "；结账后月报即发送。", " ",
        h("a", { href: "#/setup" }, "更改结账方式")),
      table(["月份", "状态", "结账时间", "流动红旗", ...(approval ? ["月报"] : []), "迟到记录", ""], rows));
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

  async function approve(btn, c, p) {
    const base = `/competitions/${c.cid}`;
    const seen = await act(btn, async () => {
      const [{ data }, { headers }] = await Promise.all([api.get(`${base}/reports/${p.key}?format=text`, { blob: true }),
        api.get(`${base}/recipients?per_page=1`)]);
      return { subject: (await data.text()).split("\n")[0], recipients: Number(headers.get("X-Total-Count") || 0) };
    });
    if (!seen) return;
    const ok = await modal({
      title: `审批并发送：${periodLabel(p.key)}${p.edition > 1 ? `（第${p.edition}版）` : ""}`,
      body: [h("p", null, "邮件主题："), h("p", { class: "flag-line", "data-test": "subject" }, seen.subject),
        h("p", { "data-test": "flag-holder" }, p.flag ? `流动红旗：${p.flag.section} ${p.flag.name}` : "本月未授予流动红旗（第一名并列或无人参评）。"),
        h("p", { "data-test": "recipients" }, seen.recipients
          ? `审批后月报发给 ${seen.recipients} 位收件人，并推送到已绑定的群。`
          : "还没有收件人：审批后不会发出邮件（可到「邮件」页添加收件人后发送）。")],
      confirm: "审批并发送",
    });
    if (!ok) return;
    const done = await act(btn, () => api.post(`${base}/reports/${p.key}/approve`, {}));
    if (done) {
      toast(`${periodLabel(p.key)} 月报已审批，${done.data.queued} 封邮件排队发送`);
      await refresh();
    }
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
