// Competitions: which one the console works in; a new one with its rulebook (the five criteria, their items
// and maximums, bonus caps, the tie-break order), added up as one types and checked against the API's rules
// before it is sent; the competition's close policy (auto or manual close, report approval, quarter reports;
// PATCH, the rulebook itself never changes); sections (their chainage on a strip of the 121 km road) and teams.

import { translate } from "../js/problems.js";
import { CRITERIA, act, api, button, choose, explain, field, frame, h, load, modal, moveOn, select, table, toast } from "./ui.js";

const ROAD_KM = 121;
const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$/;
const POINTS = /^\d{1,3}(\.\d{1,2})?$/;
const TEMPLATE = [  // the article's words, a plausible split of the 100 points
  ["quality", "比工艺工法、赛工程质量", "3", [["Q1", "实体质量", "15"], ["Q2", "工艺工法", "10"]]],
  ["safety", "比平安稳定、赛安全生产", "3", [["S1", "安全防护", "15"], ["S2", "安全管理", "10"]]],
  ["schedule", "比节点管控、赛工程进度", "2", [["P1", "节点完成", "20"]]],
  ["environment", "比措施达标、赛工地环保", "2", [["E1", "扬尘治理", "15"]]],
  ["management", "比协同高效、赛精细管理", "2", [["M1", "内业资料", "15"]]],
];
const cents = (text) => (POINTS.test(String(text).trim()) ? Math.round(Number(text) * 100) : null);
const show = (c) => String(c / 100);

/** What the API would refuse in a rulebook, in Chinese; [] when it may be sent. */
export function checkRulebook(book) {
  const errors = [];
  if (!book.name.trim()) errors.push("请填写竞赛名称");
  if (!book.organizer.trim()) errors.push("请填写主办单位");
  if (book.general_bonus_cap !== undefined && cents(book.general_bonus_cap) === null) {
    errors.push("不限项目加分上限应为 0 或正数，最多两位小数（0：加分都须注明考核项目）");
  }
  let total = 0;
  const codes = new Map();
  for (const c of book.criteria) {
    const label = CRITERIA[c.code];
    const weight = cents(c.weight);
    if (!weight) errors.push(`${label}：权重应为大于 0、最多两位小数的数`);
    if (cents(c.bonus_cap) === null) errors.push(`${label}：加分上限应为 0 或正数，最多两位小数`);
    if (!c.items.length) errors.push(`${label}：至少一条细则`);
    let sum = 0;
    for (const item of c.items) {
      if (!CODE.test(item.code)) errors.push(`${label}：细则编号「${item.code}」只能用字母、数字和 - _ .`);
      codes.set(item.code, (codes.get(item.code) || 0) + 1);
      if (!item.name.trim()) errors.push(`${label} ${item.code}：请填写细则名称`);
      const max = cents(item.max_points);
      if (!max) errors.push(`${label} ${item.code}：满分应为大于 0、最多两位小数的数`);
      else sum += max;
    }
    c.sum = sum;
    if (weight && sum !== weight) errors.push(`${label}：细则满分合计 ${show(sum)}，不等于权重 ${show(weight)}`);
    total += weight || 0;
  }
  book.total = total;
  if (total !== 10000) errors.push(`五项权重合计 ${show(total)}，应为 100`);
  for (const [code, n] of codes) if (n > 1 && code) errors.push(`细则编号 ${code} 重复`);
  return errors;
}

function editor(onCreated) {
  const book = { name: "", organizer: "", timezone: "Asia/Shanghai", general_bonus_cap: "0", tie_break: ["safety", "quality", "schedule", "environment", "management"],
    criteria: TEMPLATE.map(([code, name, cap, items]) => ({ code, name, weight: String(items.reduce((a, i) => a + Number(i[2]), 0)),
      bonus_cap: cap, items: items.map(([ic, n, m]) => ({ code: ic, name: n, max_points: m })) })) };
  const root = h("div", { class: "rulebook" });
  const input = (obj, key, test, extra = {}) => h("input", { type: "text", value: obj[key], "data-test": test, ...extra,
    oninput: (e) => { obj[key] = e.target.value; check(); } });
  const summary = h("p", { "data-test": "c-total" });
  const errors = h("ul", { class: "errors", "data-test": "c-errors" });
  const create = button("创建竞赛", async (e) => {
    if (check().length) return;
    const body = { name: book.name.trim(), organizer: book.organizer.trim(), timezone: book.timezone.trim(), tie_break: book.tie_break,
      general_bonus_cap: Number(book.general_bonus_cap),
      criteria: book.criteria.map((c) => ({ code: c.code, name: c.name.trim() || CRITERIA[c.code], weight: Number(c.weight),
        bonus_cap: Number(c.bonus_cap), items: c.items.map((i) => ({ code: i.code, name: i.name.trim(), max_points: Number(i.max_points) })) })) };
    const made = await act(e.currentTarget, () => api.post("/competitions", body), "竞赛已创建");
    if (made) onCreated(made.data);
  }, "primary", { "data-test": "c-create" });
  const sums = new Map();
  function check() {
    const found = checkRulebook(book);
    for (const c of book.criteria) {
      const s = sums.get(c.code);
      s.textContent = `细则合计 ${show(c.sum)}`;
      s.className = cents(c.weight) === c.sum ? "ok-line" : "sum-bad";
    }
    summary.textContent = `五项权重合计 ${show(book.total)} / 100`;
    summary.className = book.total === 10000 ? "ok-line" : "sum-bad";
    errors.replaceChildren(...found.map((text) => h("li", null, text)));
    create.disabled = found.length > 0;
    return found;
  }
  function draw() {
    const cards = book.criteria.map((c) => {
      sums.set(c.code, h("span"));
      return h("div", { class: "crit-card", "data-criterion": c.code },
        h("div", { class: "crit-head" }, h("b", null, CRITERIA[c.code]), field("名称", input(c, "name", `name-${c.code}`)),
          field("权重", input(c, "weight", `w-${c.code}`, { inputmode: "decimal" })),
          field("加分上限", input(c, "bonus_cap", `cap-${c.code}`, { inputmode: "decimal" })), sums.get(c.code)),
        c.items.map((item, i) => h("div", { class: "item-row" },
          input(item, "code", `i-${c.code}-${i}-code`, { "aria-label": "编号" }),
          input(item, "name", `i-${c.code}-${i}-name`, { "aria-label": "名称", placeholder: "细则名称" }),
          input(item, "max_points", `i-${c.code}-${i}-max`, { "aria-label": "满分", inputmode: "decimal" }),
          button("删除", () => { c.items.splice(i, 1); draw(); }, "secondary small"))),
        button("＋ 细则", () => { c.items.push({ code: "", name: "", max_points: "" }); draw(); }, "secondary small", { "data-test": `add-${c.code}` }));
    });
    const order = h("ol", { class: "tie-break" }, book.tie_break.map((code, i) => h("li", null, CRITERIA[code],
      i ? button("上移", () => { book.tie_break.splice(i - 1, 2, code, book.tie_break[i - 1]); draw(); }, "secondary small") : null)));
    root.replaceChildren(h("div", { class: "form-grid" }, field("竞赛名称", input(book, "name", "c-name")),
      field("主办单位", input(book, "organizer", "c-organizer")), field("时区", input(book, "timezone", "c-timezone")),
      field("不限项目加分上限（上级表彰等，计在五项之外；0 为不设）",
        input(book, "general_bonus_cap", "c-general-cap", { inputmode: "decimal" }))),
    h("div", { class: "check-box" }, summary, errors, create),
    ...cards, h("h4", null, "同分时依次比较（排名规则）"), order);
    check();
  }
  draw();
  return root;
}

/** The close policy as the API has it, in one line. */
export function describePolicy(competition) {
  const auto = competition.auto_close;
  return [auto ? `每月 ${auto.day} 日 ${auto.time} 自动结账上月` : "手动结账",
    competition.report_approval ? "月报需审批后发送" : "结账后月报即发送",
    competition.quarter_reports ? "发送季度通报邮件" : "不发季度通报邮件"].join("；");
}

const POLICY_FIELDS = { auto_close: "结账方式", day: "自动结账日", time: "自动结账时间", report_approval: "月报审批",
  quarter_reports: "季度通报邮件" };
const POLICY_MESSAGES = [[/^Must be 1 to 28/, "应为 1 到 28 之间的整数（每个月都有这一天）"],
  [/^A time of day, HH:MM/, "应为 HH:MM 格式的时刻（如 00:30）"], [/^Not a valid integer/, "应为整数"],
  [/^Not a valid boolean/, "应为是或否"]];

/** A refusal of the policy's PATCH in Chinese: a 422's field errors one per line, anything else as explain(). */
export function policyRefusal(error) {
  const errors = error && error.kind === "http" && error.status === 422 && error.problem && error.problem.errors;
  if (!errors) return [explain(error)];
  const lines = [];
  const walk = (node, name) => {
    if (Array.isArray(node)) {
      for (const message of node) {
        const known = POLICY_MESSAGES.find(([pattern]) => pattern.test(String(message)));
        lines.push(`${name}：${known ? known[1] : translate(message)}`);
      }
    } else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) walk(value, POLICY_FIELDS[key] || key);
    }
  };
  walk(errors, "");
  return lines.length ? lines : [explain(error)];
}

/** 结账与通报: auto close (day 1–28, HH:MM) or by hand, report approval, quarter reports; saved with PATCH. */
function policyForm(c, saved) {
  const auto = c.competition.auto_close;
  const radio = (value, label) => h("label", { class: "choice-item" }, h("input", { type: "radio", name: "close-mode", value,
    checked: (value === "auto") === Boolean(auto), "data-test": `p-${value}`, onchange: sync }), ` ${label}`);
  const day = h("input", { type: "text", inputmode: "numeric", value: String(auto ? auto.day : 3), "data-test": "p-day" });
  const time = h("input", { type: "text", value: auto ? auto.time : "00:30", placeholder: "00:30", "data-test": "p-time" });
  const check = (on, test) => h("input", { type: "checkbox", checked: on, "data-test": test });
  const approval = check(c.competition.report_approval, "p-approval");
  const quarter = check(c.competition.quarter_reports, "p-quarter");
  const errors = h("ul", { class: "errors", "data-test": "p-errors" });
  const modes = [radio("auto", "自动结账"), radio("manual", "手动结账")];
  function sync() {
    const manual = modes[1].querySelector("input").checked;
    day.disabled = manual;
    time.disabled = manual;
  }
  const save = button("保存结账与通报设置", async (e) => {
    errors.replaceChildren();
    const manual = modes[1].querySelector("input").checked;
    const typed = day.value.trim();
    const body = { auto_close: manual ? null : { day: /^\d+$/.test(typed) ? Number(typed) : typed, time: time.value.trim() },
      report_approval: approval.checked, quarter_reports: quarter.checked };
    const btn = e.currentTarget;
    btn.disabled = true;
    try {
      await api.request("PATCH", `/competitions/${c.cid}`, { json: body });
      toast("结账与通报设置已保存");
      saved();
    } catch (error) {
      const lines = policyRefusal(error);
      errors.replaceChildren(...lines.map((line) => h("li", null, line)));
      toast(error.status === 422 ? "未保存：见「保存」按钮上方的说明" : lines.join("；"), "error");
    } finally {
      btn.disabled = false;
    }
  }, "primary small", { "data-test": "p-save" });
  sync();
  return h("div", { class: "policy", "data-test": "policy" },
    h("p", { class: "hint", "data-test": "p-now" }, `当前：${describePolicy(c.competition)}。`),
    h("div", { class: "choice" }, h("b", null, "结账方式"), ...modes),
    h("div", { class: "when" }, field("日（1–28）", day), field("时刻（HH:MM）", time),
      h("span", { class: "hint" }, "自动结账：到该日该时刻（竞赛时区）自动结账上一个月。")),
    h("label", { class: "choice" }, approval, "月报需审批后发送",
      h("span", { class: "hint" }, "结账后月报为草稿，在「月度结账」审批后才发给收件人和群；关闭审批不会补发尚未审批的月报，请先审批。")),
    h("label", { class: "choice" }, quarter, "季度通报邮件",
      h("span", { class: "hint" }, "一个季度的月份都结账（需审批时均已审批）后，把季度考核通报发给所有收件人。")),
    errors, h("div", null, save));
}

function strip(sections, draft) {
  const pct = (km) => `${Math.max(0, Math.min(100, (Number(km) / ROAD_KM) * 100))}`;
  const segs = sections.map((s) => ({ ...s, cls: "seg" }));
  if (draft) segs.push({ ...draft, cls: `seg draft${sections.some((s) => Number(draft.start_km) < Number(s.end_km) && Number(draft.end_km) > Number(s.start_km)) ? " overlap" : ""}` });
  const box = h("div", { class: "strip", "data-test": "strip", "aria-label": `全线 ${ROAD_KM} 公里` },
    segs.filter((s) => Number(s.end_km) > Number(s.start_km)).map((s) => h("span", { class: s.cls, title: `${s.code} K${s.start_km}–K${s.end_km}` }, s.code)),
    [0, 30, 60, 90, ROAD_KM].map((km) => h("span", { class: "tick" }, `K${km}`)));
  // positions go in as CSS custom properties set through the CSSOM (no style attribute: the CSP allows none)
  segs.filter((s) => Number(s.end_km) > Number(s.start_km)).forEach((s, i) => {
    box.children[i].style.setProperty("left", `${pct(s.start_km)}%`);
    box.children[i].style.setProperty("width", `${pct(Number(s.end_km) - Number(s.start_km))}%`);
  });
  [...box.querySelectorAll(".tick")].forEach((t, i) => t.style.setProperty("left", `${pct([0, 30, 60, 90, ROAD_KM][i])}%`));
  return box;
}

/** 归档 after a confirmation that says what it does: read-only, nothing deleted, can be brought back. When it
 * was the console's competition, the console moves on to one still in use (or to none). True when archived. */
async function archive(button_, x, current, others) {
  const next = others.find((o) => o.id !== x.id);
  const sure = await modal({ title: `归档竞赛「${x.name}」？`, confirm: "归档", danger: true, body: h("div", { "data-test": "archive-what" },
    h("p", null, `归档后「${x.name}」（编号 ${x.id}）只读：不能再记分、结账、发邮件和群消息，也不再自动结账。`),
    h("p", null, "不删除任何数据：记录、月报、否决和审计都保留，仍可查看；归档的竞赛列在本页「已归档的竞赛」里，可以恢复。"),
    current ? h("p", { class: "notice" }, next ? `这是控制台当前的竞赛；归档后控制台改用「${next.name}」。`
      : "这是控制台当前的竞赛；归档后没有在用的竞赛，可在本页新建或恢复一个。") : null) });
  if (!sure) return false;
  const done = await act(button_, () => api.request("PATCH", `/competitions/${x.id}`, { json: { archived: true } }), `已归档「${x.name}」`);
  if (done && current) await moveOn();
  return Boolean(done);
}

/** 恢复 after a confirmation: back among the competitions in use, writable again. */
async function restore(button_, x) {
  const sure = await modal({ title: `恢复竞赛「${x.name}」？`, confirm: "恢复", body: h("div", { "data-test": "restore-what" },
    h("p", null, `恢复后「${x.name}」（编号 ${x.id}）回到在用的竞赛中，可以再记分、结账、发邮件和群消息；设为自动结账的，到期会自动结账。`),
    h("p", null, "归档期间的数据原样保留。")) });
  if (!sure) return false;
  return Boolean(await act(button_, () => api.request("PATCH", `/competitions/${x.id}`, { json: { archived: false } }), `已恢复「${x.name}」`));
}

let archivedOpen = false;  // the 已归档 list stays open across redraws once opened

export default function mount(container) {
  const body = frame(container, "竞赛设置", "setup");
  const draw = async () => {
    const c = await load();
    const [all, archived] = await Promise.all([api.getAll("/competitions"), api.getAll("/competitions?archived=true")]);
    const list = table(["编号", "名称", "主办", "", ""], all.map((x) => h("tr", { "data-competition": x.id },
      h("td", null, x.id), h("td", null, x.name), h("td", null, x.organizer),
      h("td", null, x.id === c.cid ? h("b", null, "当前") : button("切换到此竞赛", async () => { await choose(x.id); draw(); }, "secondary small")),
      h("td", null, button("归档", async (e) => { if (await archive(e.currentTarget, x, x.id === c.cid, all)) draw(); },
        "danger small", { "data-test": "archive" })))), { "data-test": "competitions" });
    const shelf = h("details", { class: "archived", "data-test": "archived", open: archivedOpen || undefined,
      ontoggle: (e) => { archivedOpen = e.currentTarget.open; } },
    h("summary", null, `已归档的竞赛（${archived.length}）`),
    h("p", { class: "hint" }, "只读：不能记分、结账、发邮件和群消息；数据都在，可以查看，恢复后继续使用。"),
    table(["编号", "名称", "主办", ""], archived.map((x) => h("tr", { "data-competition": x.id },
      h("td", null, x.id), h("td", null, x.name), h("td", null, x.organizer),
      h("td", null, button("恢复", async (e) => { if (await restore(e.currentTarget, x)) draw(); }, "secondary small",
        { "data-test": "restore" })))), { "data-test": "archived-list" }));
    const parts = [h("h3", null, "竞赛"), list, shelf,
      h("details", { open: !c.cid || undefined }, h("summary", null, "新建竞赛（考核细则）"),
        editor(async (made) => { await choose(made.id); draw(); }))];
    if (c.cid) {
      const s = { code: "", name: "", start_km: "", end_km: "", contractor: "" };
      const stripBox = h("div");
      const redraw = () => stripBox.replaceChildren(strip(c.sections, s.start_km !== "" && s.end_km !== "" ? s : null));
      const inp = (key, extra = {}) => h("input", { type: "text", "data-test": `s-${key}`, ...extra,
        oninput: (e) => { s[key] = e.target.value.trim(); redraw(); } });
      const sErrors = h("ul", { class: "errors" });
      const addSection = button("添加标段", async (e) => {
        const problems = [];
        if (!CODE.test(s.code)) problems.push("编号只能用字母、数字和 - _ .");
        if (!s.name) problems.push("请填写名称");
        if (!s.contractor) problems.push("请填写施工单位");
        const a = Number(s.start_km);
        const b = Number(s.end_km);
        if (s.start_km === "" || s.end_km === "" || Number.isNaN(a) || Number.isNaN(b) || a < 0) problems.push("起止公里应为数字");
        else if (b <= a) problems.push("止点应大于起点");
        else if (b > ROAD_KM) problems.push(`止点超出全线 ${ROAD_KM} 公里`);
        sErrors.replaceChildren(...problems.map((p) => h("li", null, p)));
        if (problems.length) return;
        if (await act(e.currentTarget, () => api.post(`/competitions/${c.cid}/sections`, { ...s, start_km: a, end_km: b }), `已添加 ${s.code}`)) draw();
      }, "primary small", { "data-test": "s-add" });
      redraw();
      const t = { code: h("input", { type: "text", "data-test": "t-code" }), name: h("input", { type: "text", "data-test": "t-name" }),
        leader: h("input", { type: "text", "data-test": "t-leader" }),
        section: select(c.sections.map((x) => [x.code, `${x.code} ${x.name}`]), "", { "data-test": "t-section" }) };
      const addTeam = button("添加突击队", async (e) => {
        const v = Object.fromEntries(Object.entries(t).map(([k, el]) => [k, el.value.trim()]));
        if (!CODE.test(v.code) || !v.name || !v.leader || !v.section) return toast("请完整填写：编号（字母、数字）、名称、负责人、标段", "error");
        if (await act(e.currentTarget, () => api.post(`/competitions/${c.cid}/teams`, v), `已添加 ${v.code}`)) draw();
        return null;
      }, "primary small", { "data-test": "t-add" });
      parts.push(h("h3", null, `结账与通报（${c.competition.name}）`), policyForm(c, draw),
        h("h3", null, `标段（${c.competition.name}）`), stripBox,
        table(["编号", "名称", "桩号", "施工单位"], c.sections.map((x) => h("tr", { "data-section": x.code },
          h("td", null, x.code), h("td", null, x.name), h("td", null, x.chainage || `${x.start_km}–${x.end_km} km`), h("td", null, x.contractor)))),
        h("div", { class: "form-grid" }, field("编号", inp("code")), field("名称", inp("name")), field("起点 km", inp("start_km", { inputmode: "decimal" })),
          field("止点 km", inp("end_km", { inputmode: "decimal" })), field("施工单位", inp("contractor")), addSection), sErrors,
        h("h3", null, "党员突击队"),
        table(["编号", "名称", "负责人", "标段"], c.teams.map((x) => h("tr", { "data-team": x.code },
          h("td", null, x.code), h("td", null, x.name), h("td", null, x.leader), h("td", null, x.section)))),
        h("div", { class: "form-grid" }, field("编号", t.code), field("名称", t.name), field("负责人", t.leader), field("标段", t.section), addTeam));
    }
    body.replaceChildren(...parts);
  };
  draw().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
