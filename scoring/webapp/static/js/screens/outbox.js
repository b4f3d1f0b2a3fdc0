// The outbox on screen (CONTRACT.md §5): every posting not yet acknowledged, its state and reason, the
// count, and the 发送 button. A returned posting stays until it is discarded on purpose.

import { confirmDialog, h, toast } from "../dom.js";
import * as outbox from "../outbox.js";
import * as router from "../router.js";
import { state as session } from "../session.js";

const STATES = { queued: "待发送", sending: "发送中", sent: "已提交", returned: "被退回" };
const ENTRY_STATUS = { late: "迟到记录：该月已结账，竞赛办重开该月后才计分", void: "已作废" };

function when(iso) {
  const d = new Date(iso);
  return `${d.getMonth() + 1}月${d.getDate()}日 ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

function row(record) {
  const s = record.summary || {};
  const entry = !record.type || record.type === "entry";
  const lines = [
    !entry ? h("div", { class: "what" }, h("b", null, s.title)) : h("div", { class: "what" },
      h("b", { class: `points ${record.body.kind}` }, `${s.kind || ""}${s.points ?? record.body.points} 分`),
      ` ${s.section || record.body.section}`, s.team ? ` · ${s.team}` : "",
      ` · ${s.criterion || record.body.criterion || ""}${s.item ? ` ${s.item}` : ""}`),
    !entry ? null : h("div", { class: "meta" }, `检查 ${s.observed || record.body.observed_at}`, s.chainage ? ` · ${s.chainage}` : "",
      record.photos.length ? ` · 照片 ${record.photos.length} 张` : "", ` · 存入 ${when(record.created_at)}`),
    s.note ? h("div", { class: "note" }, s.note) : null,
  ];
  const actions = [];
  const mine = session.user && record.owner === session.user.username;
  if (record.state === "sent") {
    lines.push(h("div", { class: "result ok" }, `服务器编号 #${record.server_id} · ${when(record.sent_at)} 提交`));
    if (ENTRY_STATUS[record.entry_status]) lines.push(h("div", { class: "result warn" }, ENTRY_STATUS[record.entry_status]));
    for (const warning of record.warnings || []) lines.push(h("div", { class: "result warn" }, `提示：${warning}`));
  } else if (record.state === "returned") {
    const why = outbox.refusalOf(record);
    lines.push(h("div", { class: "result bad" }, h("b", null, why.title),
      why.lines.length ? h("ul", null, why.lines.map((line) => h("li", null, line))) : null,
      h("p", null, why.advice)));
    actions.push(
      entry ? h("button", { type: "button", class: "secondary", onclick: () => router.go("post", "copy", record.client_id) }, "复制为新记录") : null,
      h("button", { type: "button", class: "danger", "data-action": "discard", onclick: () => discard(record) }, "放弃"));
  } else if (!mine) {
    lines.push(h("div", { class: "result warn" }, `属于用户 ${record.owner}：需要其本人登录后发送`));
  } else if (outbox.editable(record)) {
    lines.push(h("div", { class: "meta" }, record.editing ? "正在修改，保存前不会发送" : "还没有发出，可以修改"));
    actions.push(
      entry ? h("button", { type: "button", class: "secondary", onclick: () => router.go("post", "edit", record.client_id) }, "修改") : null,
      h("button", { type: "button", class: "danger", "data-action": "discard", onclick: () => discard(record) }, "删除"));
  } else {
    lines.push(h("div", { class: "meta" },
      `${when(record.last_attempt_at)} 开始发送，服务器尚未确认；为免重复，不能再修改`));
  }
  return h("article", {
    class: `outbox-item state-${record.state}`, "data-test": "outbox-item", "data-client-id": record.client_id,
    "data-state": record.state,
  }, h("span", { class: `state ${record.state}` }, STATES[record.state]), h("div", { class: "body" }, lines),
  actions.length ? h("div", { class: "actions" }, actions) : null);
}

async function discard(record) {
  const sure = await confirmDialog({
    title: record.state === "returned" ? "放弃这条被退回的记录？" : "删除这条还没发出的记录？",
    text: "删除后无法恢复。", confirm: record.state === "returned" ? "放弃" : "删除", danger: true,
  });
  if (sure && await outbox.discard(record.client_id)) toast("已删除");
}

export default {
  name: "outbox",
  title: "待发送",
  roles: ["supervisor", "admin", "contractor"],
  mount(container) {
    const count = h("span", { class: "big-count" });
    const message = h("p", { class: "send-status", role: "status" });
    const sendNow = h("button", { type: "button", class: "primary", "data-test": "send-now",
                                  onclick: () => outbox.flush({ manual: true }) }, "发送");
    const clear = h("button", { type: "button", class: "secondary", onclick: () => outbox.clearSent() }, "清除已提交");
    const list = h("div", { class: "outbox-list" });
    container.append(h("section", { class: "outbox-screen" },
      h("div", { class: "outbox-head" }, h("h2", null, "未提交 ", count, " 条"), sendNow, clear),
      message, list,
      h("p", { class: "hint" }, "记录先保存在这台设备上，联网后自动发送，也可点「发送」。清除浏览器的网站数据会丢失未提交的记录。")));
    const draw = () => {
      const records = outbox.list();
      count.textContent = String(outbox.pendingCount());
      message.textContent = outbox.status.message;
      message.dataset.busy = outbox.status.busy ? "true" : "false";
      sendNow.disabled = outbox.status.busy;
      clear.hidden = !records.some((r) => r.state === "sent");
      // Returned first (they need the supervisor), then waiting, then what went through.
      const order = { returned: 0, sending: 1, queued: 2, sent: 3 };
      records.sort((a, b) => order[a.state] - order[b.state]);
      list.replaceChildren(...(records.length ? records.map(row) : [h("p", { class: "empty" }, "没有待提交的记录。")]));
    };
    draw();
    outbox.events.addEventListener("change", draw);
    return () => outbox.events.removeEventListener("change", draw);
  },
};
