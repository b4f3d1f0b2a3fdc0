// The audit trail (who changed what, when, from where, why), newest first, 100 rows at a time, filtered by who,
// what, which object and since when (a day on the competition's clock); each row links to the screen of what it
// changed. Address: #/audit/<target> (e.g. #/audit/entry:617) opens it filtered to one object's history.

import { CRITERIA, act, api, button, explain, field, frame, h, load, noCompetition, num, periodLabel, select, table } from "./ui.js";
import { instantOf, isoInZone } from "../js/zone.js";

const PAGE = 100;  // rows a page on screen and per request (the API allows up to 500)

/** Every action the service records (grep `record(` in scoring/), in Chinese. */
const ACTIONS = {
  "entry.posted": "录入记录", "entry.voided": "作废记录", "entry.corrected": "更正记录",
  "veto.created": "否决", "veto.revoked": "撤销否决",
  "period.closed": "结账", "period.reopened": "重新开放", "report.approved": "批准月报", "report.queued": "发送报告",
  "competition.created": "新建竞赛", "competition.updated": "修改竞赛设置", "criterion.updated": "修改考核项目",
  "item.updated": "修改考核细则", "section.created": "新建标段", "section.updated": "修改标段",
  "team.created": "新建突击队", "team.updated": "修改突击队",
  "user.created": "新建用户", "user.updated": "修改用户", "user.password_set": "重设密码",
  "user.password_changed": "修改密码", "token.created": "发放令牌", "token.revoked": "吊销令牌",
  "recipient.created": "添加收件人", "recipient.removed": "移除收件人",
  "channel.created": "添加群机器人", "channel.removed": "停用群机器人",
  "notice.issued": "下发整改通知", "notice.responded": "回复整改", "notice.passed": "整改复核通过",
  "notice.rejected": "整改退回", "notice.cancelled": "撤销整改通知", "notice.overdue": "整改逾期",
  "photo.uploaded": "上传照片",
};

/** Chinese names of the detail's keys; a key not here is shown as it is. */
const LABELS = {
  section: "标段", team: "突击队", criterion: "考核项目", item: "考核细则", kind: "类型", points: "分值",
  period: "月份", status: "状态", client_id: "记录编号", edition: "版次", username: "用户名", role: "角色",
  sections: "标段", email: "邮箱", name: "名称", scope: "范围", url: "地址", events: "事件", number: "编号",
  code: "编号", before: "修改前", after: "修改后", flag: "红旗", shared_first: "并列第一", late_entries_counted: "计入迟到记录",
  late_entries: "迟到记录", new_deliveries: "新发送", months: "月份", by: "发起", photos: "照片", rectify_by: "整改期限",
  expires_at: "有效期至", secret: "密钥", messages_cancelled: "取消的消息", corrected_by: "更正为记录", supervisor: "监理",
  width: "宽", height: "高", bytes: "字节", entry_id: "记录", organizer: "主办单位", timezone: "时区",
  start_km: "起点公里", end_km: "终点公里", contractor: "施工单位", leader: "队长", weight: "权重", max: "满分",
  auto_close: "自动结账", report_approval: "月报须批准", quarter_reports: "季度报告", archived: "已归档",
  day: "日", time: "时刻", general_bonus_cap: "不限项目加分上限", criteria: "考核项目", items: "考核细则",
  observed_at: "检查时间", note: "说明", chainage: "桩号", members: "人数", approval: "须批准", tie_break: "同分比较",
  overdue_penalty: "逾期扣分", bonus_cap: "加分上限", max_points: "满分", entry: "记录",
};
const VALUES = {
  kind: { deduction: "扣分", bonus: "加分", wecom: "企业微信", dingtalk: "钉钉", feishu: "飞书" },
  status: { counted: "计分", late: "迟到", void: "已作废", queued: "排队", sent: "已发送", failed: "失败" },
  role: { supervisor: "监理", admin: "竞赛办", viewer: "领导", contractor: "施工单位", display: "大屏" },
  criterion: CRITERIA,
  tie_break: CRITERIA,
  scope: { all: "全部标段" },
};

const empty = (v) => v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && !Array.isArray(v) && Object.values(v).every(empty));

/** A criterion or an item in a list: its code, name and points, no more. */
function brief(value) {
  const size = value.weight ?? value.max_points;
  return [CRITERIA[value.code] || value.code, value.name].filter(Boolean).join(" ") + (size !== undefined ? `（${num(size)} 分）` : "");
}

/** A detail value in words: no JSON, nothing null; objects as "标签 值" pairs, lists joined with 、; times on the
 * competition's clock, a tablet's long client_id cut short. */
function words(key, value, tz) {
  if (typeof value === "boolean") return value ? "是" : "否";
  if (Array.isArray(value)) {
    return value.filter((v) => !empty(v)).map((v) => (v && typeof v === "object" && "code" in v ? brief(v) : words(key, v, tz)))
      .join("、");
  }
  if (value && typeof value === "object") {
    return Object.entries(value).filter(([, v]) => !empty(v)).map(([k, v]) => `${LABELS[k] || k} ${words(k, v, tz)}`).join("，");
  }
  const text = String(value);
  if (key === "period" && /^\d{4}-\d{2}$/.test(text)) return periodLabel(text);
  if (/^-?\d+\.\d+$/.test(text)) return num(text);  // "3.00" → 3
  if (key === "client_id" && text.length > 12) return `${text.slice(0, 8)}…`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) {
    return new Date(text).toLocaleString("zh-CN", { timeZone: tz, dateStyle: "short", timeStyle: "short" });
  }
  return (VALUES[key] || {})[text] || text;
}

/** The detail as short "标签：值" pairs (a shortened value whole in its title). */
function pairs(detail, tz) {
  if (!detail || typeof detail !== "object") return [];
  return Object.entries(detail).filter(([, v]) => !empty(v)).map(([k, v]) => h("span",
    { class: "kv", title: k === "client_id" ? String(v) : null }, `${LABELS[k] || k}：${words(k, v, tz)}`));
}

/** "127.0.0.1" over "Chrome 131", the whole User-Agent in the title. */
function origin(row) {
  const agent = row.user_agent || "";
  const known = /(Edg|Firefox|Chrome|Safari|python-requests|curl)\/(\d+)/.exec(agent);
  const short = known ? `${known[1] === "Edg" ? "Edge" : known[1]} ${known[2]}` : agent.slice(0, 16) + (agent.length > 16 ? "…" : "");
  const lines = [row.address, short].filter(Boolean).map((line) => h("div", null, line));
  return h("td", { class: "origin hint", title: [row.address, agent].filter(Boolean).join(" ") || null }, lines.length ? lines : "—");
}

/** Where a row's target is shown: entry:12 → the entry, veto:3 → vetoes, period:2026-11 → months … */
function link(row) {
  const [kind, id] = (row.target || "").split(":");
  const d = row.detail || {};
  const to = { entry: `#/entries/${d.period || ""}/all/${id}`, veto: "#/vetoes", period: "#/months", user: "#/people",
    token: "#/people", recipient: "#/mail", channel: `#/channels/${id}`, section: "#/setup", team: "#/setup", competition: "#/setup",
    criterion: "#/setup", item: "#/setup", notice: "#/notices/all" }[kind];
  return to ? h("a", { href: to, "data-test": "audit-link" }, row.target) : row.target || "—";
}

export default function mount(container, params) {
  const body = frame(container, "审计记录", "audit");
  (async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const actor = h("input", { type: "text", placeholder: "用户名", "data-test": "a-actor" });
    const action = select([["", "全部操作"], ...Object.entries(ACTIONS)], "", { "data-test": "a-action" });
    const target = h("input", { type: "text", placeholder: "如 entry:617", value: params[0] || "", "data-test": "a-target" });
    const since = h("input", { type: "date", "data-test": "a-since" });
    const out = h("div");
    let searches = 0;
    let shown = [];  // newest first
    let total = 0;
    let shownQuery = "";  // the filters of the rows shown: 更早的记录 goes on with them, whatever was typed since

    const query = () => {
      const day = since.value && instantOf(`${since.value}T00:00`, c.tz);
      return [actor.value.trim() && `actor=${encodeURIComponent(actor.value.trim())}`,
        action.value && `action=${encodeURIComponent(action.value)}`,
        target.value.trim() && `target=${encodeURIComponent(target.value.trim())}`,
        day && `since=${encodeURIComponent(isoInZone(day, c.tz))}`].filter(Boolean).join("&");
    };
    // Newest first, and back a page at a time from the oldest row shown (`before`): no offset, however long the trail.
    const page = async (q, before) => {
      const { data, headers } = await api.get(`/competitions/${c.cid}/audit?${q ? `${q}&` : ""}order=newest&per_page=${PAGE}${
        before ? `&before=${before}` : ""}`);
      return { data, total: Number(headers.get("X-Total-Count") || data.length) };
    };

    const render = () => {
      const left = total - shown.length;
      const older = left > 0 ? button(`更早的记录（还有 ${left} 条）`, (e) => act(e.currentTarget, more), "secondary small",
        { "data-test": "a-older" }) : null;
      out.replaceChildren(...[
        h("p", { class: "hint", "data-test": "a-count" }, `共 ${total} 条，最新在上；已显示 ${shown.length} 条`),
        table(["时间", "操作人", "操作", "对象", "理由", "内容", "来源"], shown.map((r) => h("tr", { "data-action": r.action, "data-id": r.id },
          h("td", { class: "when" }, new Date(r.at).toLocaleString("zh-CN", { timeZone: c.tz })), h("td", null, r.actor),
          h("td", { class: "what" }, ACTIONS[r.action] || r.action), h("td", { class: "target" }, link(r)),
          h("td", { class: "reason" }, r.reason || ""), h("td", { class: "detail" }, pairs(r.detail, c.tz)), origin(r))),
        { class: "grid audit-trail" }),
        older].filter(Boolean));
    };

    async function search() {
      const mine = ++searches;
      const q = query();
      const first = await page(q);
      if (mine !== searches) return;  // a later filter's answer wins, however late this one arrives
      shownQuery = q;
      total = first.total;
      shown = first.data;
      render();
    }

    async function more() {
      const mine = searches;
      const { data } = await page(shownQuery, shown[shown.length - 1].id);
      if (mine !== searches) return;
      shown.push(...data);
      if (!data.length) total = shown.length;  // nothing older after all: no button that brings nothing
      render();
    }

    for (const el of [actor, action, target, since]) el.addEventListener("change", () => act(null, search));
    body.replaceChildren(h("div", { class: "toolbar" }, field("操作人", actor), field("操作", action), field("对象", target),
      field("起始日期", since), button("查询", (e) => act(e.currentTarget, search), "primary small")), out);
    await search();
    return null;
  })().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
