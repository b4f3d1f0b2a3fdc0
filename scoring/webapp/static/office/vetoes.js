// Vetoes (一票否决): impose one (section, team, month, reason) and revoke one (reason), each followed by the
// board before and after, so the office sees what it did.

import { act, api, board, button, explain, field, frame, h, leaderboard, load, modal, months, noCompetition, periodLabel, select, table, toast } from "./ui.js";

export default function mount(container) {
  const body = frame(container, "一票否决", "vetoes");
  const result = h("div", { class: "veto-result" });

  const showChange = (before, after, mark, what) => result.replaceChildren(h("h3", null, what),
    h("div", { class: "pair" }, h("div", { "data-test": "before" }, h("b", null, "之前"), board(before, mark)),
      h("div", { "data-test": "after" }, h("b", null, "之后"), board(after, mark))));

  const draw = async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const list = (await months(c.cid, c.month)).filter((p) => p.status !== "closed");
    const period = select(list.map((p) => [p.key, periodLabel(p.key)]), c.month, { "data-test": "veto-period" });
    const section = select(c.sections.map((s) => [s.code, `${s.code} ${s.name}`]), "", { "data-test": "veto-section" });
    const team = h("select", { "data-test": "veto-team" });
    const fillTeams = () => team.replaceChildren(h("option", { value: "" }, "（整个标段）"),
      ...c.teams.filter((t) => t.section === section.value).map((t) => h("option", { value: t.code }, `${t.code} ${t.name}`)));
    section.addEventListener("change", fillTeams);
    fillTeams();
    const reason = h("input", { type: "text", "data-test": "veto-reason", placeholder: "如：发生一般安全事故" });
    const impose = button("否决", async (e) => {
      if (!reason.value.trim()) return toast("请填写否决理由", "error");
      const kind = team.value ? "teams" : "sections";
      const mark = team.value || section.value;
      const before = await act(null, () => leaderboard(c.cid, period.value, kind));
      const made = await act(e.currentTarget, () => api.post(`/competitions/${c.cid}/vetoes`, {
        section: section.value, team: team.value || null, period: period.value, reason: reason.value.trim(),
      }), "已否决");
      if (!made || !before) return null;
      showChange(before, await leaderboard(c.cid, period.value, kind), mark, `否决 ${mark}（${periodLabel(period.value)}）`);
      return refreshList(c);
    }, "danger", { "data-test": "veto-submit" });
    body.replaceChildren(
      h("div", { class: "form-grid" }, field("月份", period), field("标段", section), field("突击队", team),
        field("理由", reason, "wide"), impose),
      result, h("h3", null, "否决记录"), listBox);
    return refreshList(c);
  };

  const listBox = h("div");
  async function refreshList(c) {
    const vetoes = await api.getAll(`/competitions/${c.cid}/vetoes`);
    vetoes.sort((a, b) => b.id - a.id);
    listBox.replaceChildren(table(["月份", "对象", "理由", "由", "状态", ""], vetoes.map((v) => h("tr", { "data-veto": v.id },
      h("td", null, periodLabel(v.period)), h("td", null, v.team ? `${v.section} / ${v.team}` : v.section),
      h("td", null, v.reason), h("td", null, v.created_by),
      h("td", null, v.revoked ? h("span", { class: "status-tag revoked" }, `已撤销：${v.revoke_reason}`) : h("span", { class: "status-tag" }, "有效")),
      h("td", null, v.revoked ? null : button("撤销", (e) => revoke(e.currentTarget, c, v), "secondary small", { "data-test": "revoke" }))))));
  }

  async function revoke(btn, c, v) {
    const reason = await modal({ title: `撤销对 ${v.team || v.section} 的否决？`, body: h("p", null, `原因：${v.reason}`), confirm: "撤销否决", reason: "撤销理由" });
    if (!reason) return;
    const kind = v.team ? "teams" : "sections";
    const before = await act(null, () => leaderboard(c.cid, v.period, kind));
    if (!await act(btn, () => api.post(`/competitions/${c.cid}/vetoes/${v.id}/revoke`, { reason }), "已撤销")) return;
    showChange(before, await leaderboard(c.cid, v.period, kind), v.team || v.section, `撤销否决 ${v.team || v.section}`);
    await refreshList(c);
  }

  draw().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
  return null;
}
