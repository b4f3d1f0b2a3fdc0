// Group bots (群机器人, CONTRACT.md §8): the competition's channels with the address masked as the API gives it,
// a new one (platform, webhook address, the signing secret of DingTalk and Feishu, the events), stopping one
// (its history stays) and each channel's deliveries; a stopped one is listed too (GET …/channels?stopped=true),
// so its history stays within reach. A secret is sent once and never shown again: the screen has only the API's
// mask of it.

import { act, api, button, explain, field, frame, h, load, modal, noCompetition, select, table, toast, translate } from "./ui.js";

const PLATFORMS = { wecom: "企业微信", dingtalk: "钉钉", feishu: "飞书" };
const SIGNED = new Set(["dingtalk", "feishu"]);
const EVENTS = { month_closed: "月度结账结果", veto: "否决", notice_overdue: "整改逾期", daily_digest: "每日汇总" };
const STATUS = { queued: "待发送", sent: "已发送", failed: "失败", cancelled: "已取消" };
const FIELDS = { kind: "平台", url: "Webhook 地址", secret: "签名密钥", events: "事件" };
const EXAMPLE = {
  wecom: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
  dingtalk: "https://oapi.dingtalk.com/robot/send?access_token=…",
  feishu: "https://open.feishu.cn/open-apis/bot/v2/hook/…",
};
const SECRET_HINT = {
  dingtalk: "安全设置选「加签」时填写（SEC 开头）；用自定义关键词时留空",
  feishu: "安全设置勾选「签名校验」时填写；否则留空",
};

/** What the API would refuse in a new channel and is simple to see before sending, in Chinese. */
export function checkChannel({ url, events }) {
  const errors = [];
  if (!url) errors.push("请填写 Webhook 地址");
  else if (!/^https?:\/\/\S+$/i.test(url)) errors.push("Webhook 地址应以 https:// 开头，不含空格");
  if (!events.length) errors.push("请至少选择一个事件");
  return errors;
}

/** A refusal of the API as lines of Chinese: each field's messages for a 422, else one line. */
function refused(error) {
  const errors = error && error.kind === "http" && error.problem && error.problem.errors;
  if (!errors) return [explain(error)];
  const messages = (value) => (typeof value === "string" ? [translate(value)]
    : Array.isArray(value) ? value.flatMap(messages) : Object.values(value || {}).flatMap(messages));
  return Object.entries(errors).map(([name, value]) => `${FIELDS[name] || name}：${[...new Set(messages(value))].join("；")}`);
}

const eventNames = (events) => (events || []).map((e) => EVENTS[e] || e).join("、");

export default function mount(container, params) {
  const body = frame(container, "群机器人", "channels");
  const deliveries = h("div", { class: "channel-deliveries" });
  let c = null;
  const when = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: c.tz }) : "—");

  /** The channels in use, then the stopped ones (their history is kept), each in the order they were added. */
  async function channels(base) {
    const [active, stopped] = await Promise.all([api.getAll(`${base}/channels`), api.getAll(`${base}/channels?stopped=true`)]);
    return [...active, ...stopped];
  }

  async function showDeliveries(channel) {
    const base = `/competitions/${c.cid}`;
    const rows = await api.getAll(`${base}/channels/${channel.id}/deliveries`);
    const time = (d) => (d.status === "sent" ? when(d.sent_at) : `排队于 ${when(d.queued_at)}`);
    const status = (d) => h("span", { class: ["status-tag", d.status] }, STATUS[d.status] || d.status,
      d.status === "failed" && d.next_attempt_at ? `（${when(d.next_attempt_at)} 重试）` : null);
    deliveries.replaceChildren(
      h("h3", { "data-test": "deliveries-of", "data-channel": channel.id }, `发送记录：${PLATFORMS[channel.kind] || channel.kind} ${channel.url}`),
      h("p", { class: "hint" }, channel.removed_at ? "该机器人已停用；以下记录保留备查。" : "最新的在前；失败的消息按 1、2、4… 分钟自动重试，签名错误或地址失效的不再重试。"),
      table(["事件", "内容", "状态", "尝试", "最后错误", "时间"], rows.map((d) => h("tr", { "data-delivery": d.id, "data-status": d.status },
        h("td", null, EVENTS[d.event] || d.event), h("td", null, d.title), h("td", null, status(d)),
        h("td", { class: "n" }, d.attempts), h("td", null, d.last_error || ""), h("td", null, time(d))))),
      h("div", { class: "toolbar" },
        button("刷新", (e) => act(e.currentTarget, () => showDeliveries(channel)), "secondary small", { "data-test": "refresh" })));
    deliveries.scrollIntoView({ block: "nearest" });
  }

  async function stop(btn, channel) {
    const ok = await modal({ title: `停用${PLATFORMS[channel.kind] || ""}机器人？`, confirm: "停用", danger: true,
      body: [h("p", { class: "wall-url" }, channel.url),
        h("p", null, "停用后不再向这个群发送消息，尚未发出的消息随之取消。已发送的记录保留，仍可在「发送记录」里查看。"),
        h("p", null, "要恢复，请重新添加（需再次填写 Webhook 地址和签名密钥）。")] });
    if (ok && await act(btn, () => api.request("DELETE", `/competitions/${c.cid}/channels/${channel.id}`), "已停用")) {
      await draw();
      await showDeliveries({ ...channel, removed_at: new Date().toISOString() });
    }
  }

  async function draw() {
    c = await load();
    if (!c.cid) return noCompetition(body);
    const base = `/competitions/${c.cid}`;
    const list = await channels(base);

    const kind = select(Object.entries(PLATFORMS), "dingtalk", { "data-test": "ch-kind" });
    const url = h("input", { type: "text", inputmode: "url", autocomplete: "off", spellcheck: "false", "data-test": "ch-url" });
    const secret = h("input", { type: "password", autocomplete: "new-password", "data-test": "ch-secret" });
    const secretHint = h("small", { class: "hint" });
    const secretField = h("label", { class: "fld wide" }, h("span", null, "签名密钥"), secret, secretHint);
    const boxes = Object.entries(EVENTS).map(([value, label]) => h("label", { class: "check" },
      h("input", { type: "checkbox", value, checked: true, "data-event": value }), label));
    const errors = h("ul", { class: "errors", "data-test": "ch-errors" });
    const fit = () => {
      url.placeholder = EXAMPLE[kind.value];
      secretField.hidden = !SIGNED.has(kind.value);
      secretHint.textContent = SECRET_HINT[kind.value] || "";
    };
    kind.addEventListener("change", fit);
    fit();
    const add = button("添加", async (e) => {
      const btn = e.currentTarget;
      const v = { kind: kind.value, url: url.value.trim(),
        events: boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value) };
      if (SIGNED.has(v.kind) && secret.value.trim()) v.secret = secret.value.trim();
      const problems = checkChannel(v);
      errors.replaceChildren(...problems.map((p) => h("li", null, p)));
      if (problems.length) return;
      btn.disabled = true;
      try {
        await api.post(`${base}/channels`, v);
      } catch (error) {
        errors.replaceChildren(...refused(error).map((p) => h("li", null, p)));
        return;
      } finally {
        btn.disabled = false;
      }
      url.value = "";
      secret.value = "";
      toast(`已添加${PLATFORMS[v.kind]}机器人`);
      await draw();
    }, "primary", { "data-test": "ch-add" });

    const rows = list.map((ch) => h("tr", { "data-channel": ch.id, "data-kind": ch.kind, "data-state": ch.removed_at ? "stopped" : "active" },
      h("td", null, PLATFORMS[ch.kind] || ch.kind),
      h("td", { class: "address" }, ch.url),
      h("td", null, ch.secret ? `已设置（${ch.secret}）` : "—"),
      h("td", { class: "events" }, eventNames(ch.events)),
      h("td", null, ch.removed_at ? h("span", { class: "status-tag revoked" }, `已停用 ${when(ch.removed_at)}`)
        : ch.paused_until && new Date(ch.paused_until) > new Date() ? h("span", { class: "status-tag queued" }, `平台限流，暂停至 ${when(ch.paused_until)}`)
          : h("span", { class: "status-tag sent" }, "启用中")),
      h("td", { class: "links" },
        button("发送记录", (ev) => act(ev.currentTarget, () => showDeliveries(ch)), "secondary small", { "data-test": "deliveries" }),
        ch.removed_at ? null : button("停用", (ev) => stop(ev.currentTarget, ch), "secondary small", { "data-test": "stop" }))));

    body.replaceChildren(
      h("p", { class: "hint" }, "项目工作群里的机器人：月度结账结果（红旗）、否决、整改逾期和每日汇总会自动发到群里。地址中的密钥和签名密钥只在添加时填写一次，之后不再显示。"),
      table(["平台", "Webhook 地址", "签名密钥", "事件", "状态", ""], rows, { class: "grid channels-list" }),
      deliveries,
      h("h3", null, "添加群机器人"),
      h("div", { class: "form-grid" }, field("平台", kind), field("Webhook 地址（群机器人设置里复制）", url, "wide"), secretField,
        h("div", { class: "fld wide" }, h("span", null, "发送哪些消息"), h("div", { class: "toolbar" }, boxes)), add),
      errors);
    const wanted = list.find((ch) => String(ch.id) === String(params[0]));
    if (wanted && !deliveries.firstChild) await showDeliveries(wanted);
    return null;
  }

  draw().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
