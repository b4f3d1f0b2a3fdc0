// The audit trail (who changed what, when, from where, why), filtered by who, what and since when; each row
// links to the screen of what it changed.

import { act, api, button, explain, field, frame, h, load, noCompetition, select, table } from "./ui.js";

const ACTIONS = {
  "entry.voided": "作废记录", "veto.created": "否决", "veto.revoked": "撤销否决", "period.closed": "结账",
  "period.reopened": "重新开放", "competition.created": "新建竞赛", "section.created": "新建标段", "team.created": "新建突击队",
  "user.created": "新建用户", "token.created": "发放令牌", "token.revoked": "吊销令牌", "recipient.created": "添加收件人",
  "recipient.removed": "移除收件人", "report.queued": "发送月报", "photo.uploaded": "上传照片",
  "channel.created": "添加群机器人", "channel.removed": "停用群机器人",
};

/** Where a row's target is shown: entry:12 → the entry, veto:3 → vetoes, period:2026-11 → months … */
function link(row) {
  const [kind, id] = (row.target || "").split(":");
  const d = row.detail || {};
  const to = { entry: `#/entries/${d.period || ""}/all/${id}`, veto: "#/vetoes", period: "#/months", user: "#/people",
    token: "#/people", recipient: "#/mail", channel: `#/channels/${id}`, section: "#/setup", team: "#/setup", competition: "#/setup" }[kind];
  return to ? h("a", { href: to, "data-test": "audit-link" }, row.target) : row.target || "—";
}

export default function mount(container) {
  const body = frame(container, "审计记录", "audit");
  (async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const actor = h("input", { type: "text", placeholder: "用户名", "data-test": "a-actor" });
    const action = select([["", "全部操作"], ...Object.entries(ACTIONS)], "", { "data-test": "a-action" });
    const since = h("input", { type: "date" });
    const out = h("div");
    const search = async () => {
      const q = [actor.value.trim() && `actor=${encodeURIComponent(actor.value.trim())}`, action.value && `action=${action.value}`,
        since.value && `since=${encodeURIComponent(`${since.value}T00:00:00+08:00`)}`].filter(Boolean).join("&");
      const rows = await api.getAll(`/competitions/${c.cid}/audit${q ? `?${q}` : ""}`);
      rows.reverse();  // newest first on screen
      out.replaceChildren(h("p", { class: "hint" }, `${rows.length} 条（最新在上）`), table(["时间", "操作人", "操作", "对象", "理由", "内容", "来源"],
        rows.map((r) => h("tr", { "data-action": r.action },
          h("td", null, new Date(r.at).toLocaleString("zh-CN", { timeZone: c.tz })), h("td", null, r.actor),
          h("td", null, ACTIONS[r.action] || r.action), h("td", null, link(r)), h("td", null, r.reason || ""),
          h("td", { class: "detail" }, r.detail ? JSON.stringify(r.detail) : ""),
          h("td", { class: "hint" }, `${r.address || ""} ${(r.user_agent || "").slice(0, 40)}`)))));
    };
    for (const el of [actor, action, since]) el.addEventListener("change", () => act(null, search));
    body.replaceChildren(h("div", { class: "toolbar" }, field("操作人", actor), field("操作", action), field("起始日期", since),
      button("查询", (e) => act(e.currentTarget, search), "primary small")), out);
    await search();
    return null;
  })().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
