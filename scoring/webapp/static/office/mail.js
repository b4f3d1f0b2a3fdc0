// Mail: the recipients of the monthly report, the deliveries of a month (status, attempts, last error), and
// sending it again to those whose delivery failed.

import { act, api, button, explain, field, frame, h, load, modal, months, noCompetition, periodLabel, select, table, toast } from "./ui.js";

const STATUS = { queued: "排队中", sent: "已发送", failed: "失败" };

export default function mount(container, params) {
  const body = frame(container, "月报邮件", "mail");
  const draw = async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const base = `/competitions/${c.cid}`;
    const recipients = await api.getAll(`${base}/recipients`);
    const closed = (await months(c.cid, c.month)).filter((p) => p.status === "closed");
    const email = h("input", { type: "email", "data-test": "r-email" });
    const name = h("input", { type: "text", "data-test": "r-name" });
    const scope = select([["all", "全部（总报）"], ...c.sections.map((s) => [s.code, `仅 ${s.code} ${s.name}`])], "all", { "data-test": "r-scope" });
    const add = button("添加收件人", async (e) => {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.value.trim())) return toast("邮箱地址不正确", "error");
      if (await act(e.currentTarget, () => api.post(`${base}/recipients`, { email: email.value.trim(), name: name.value.trim() || email.value.trim(), scope: scope.value }), "已添加")) draw();
      return null;
    }, "primary small", { "data-test": "r-add" });
    const period = select(closed.map((p) => [p.key, periodLabel(p.key)]), params[0] || (closed[0] && closed[0].key), { "data-test": "d-period" });
    const deliveries = h("div");
    const showDeliveries = async () => {
      if (!period.value) return deliveries.replaceChildren(h("p", { class: "hint" }, "还没有已结账的月份。"));
      const rows = await api.getAll(`${base}/reports/${period.value}/deliveries`);
      const failed = rows.filter((d) => d.status === "failed").length;
      deliveries.replaceChildren(
        table(["收件人", "版次", "状态", "尝试", "最后错误", "发送时间"], rows.map((d) => h("tr", { "data-email": d.email, "data-status": d.status },
          h("td", null, `${d.name} <${d.email}>`), h("td", null, d.edition > 1 ? `第${d.edition}版（更正）` : d.edition || "1"),
          h("td", null, h("span", { class: ["status-tag", d.status] }, STATUS[d.status] || d.status)), h("td", { class: "n" }, d.attempts),
          h("td", null, d.last_error || ""), h("td", null, d.sent_at ? new Date(d.sent_at).toLocaleString("zh-CN", { timeZone: c.tz }) : "—")))),
        h("div", { class: "toolbar" },
          button("刷新", (e) => act(e.currentTarget, showDeliveries), "secondary small", { "data-test": "refresh" }),
          button("发送给尚未发送的收件人", (e) => act(e.currentTarget, () => api.post(`${base}/reports/${period.value}/send`, {}), "已排队").then(showDeliveries), "secondary small", { "data-test": "send" }),
          failed ? button(`重发失败的 ${failed} 封`, async (e) => {
            const ok = await modal({ title: "重发失败的邮件？", body: h("p", null, "只重发状态为「失败」的收件人；已发送的不会重复收到。"), confirm: "重发" });
            if (ok) await act(e.currentTarget, () => api.post(`${base}/reports/${period.value}/send`, { resend_failed: true }), "已重新排队");
            showDeliveries();
          }, "primary small", { "data-test": "resend" }) : null));
      return null;
    };
    period.addEventListener("change", () => act(null, showDeliveries));
    body.replaceChildren(
      h("h3", null, "收件人"),
      table(["姓名", "邮箱", "范围", ""], recipients.map((r) => h("tr", { "data-recipient": r.email },
        h("td", null, r.name), h("td", null, r.email), h("td", null, r.scope === "all" ? "全部" : r.scope),
        h("td", null, button("移除", async (e) => {
          if (await act(e.currentTarget, () => api.request("DELETE", `${base}/recipients/${r.id}`), "已移除")) draw();
        }, "secondary small"))))),
      h("div", { class: "form-grid" }, field("邮箱", email), field("姓名", name), field("范围", scope), add),
      h("h3", null, "发送情况"), h("div", { class: "toolbar" }, field("月份", period)), deliveries);
    return showDeliveries();
  };
  draw().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
