// People: the users of every role with their sections; make one; revoke someone's tokens. And a wall screen:
// a new display token, its URL and a QR code of it, so the screen's browser opens it without typing.

import { act, api, button, explain, field, frame, h, load, modal, noCompetition, select, table, toast } from "./ui.js";
import { toSvg } from "./qr.js";

const ROLES = { supervisor: "监理", admin: "竞赛办", viewer: "领导", contractor: "施工单位", display: "大屏" };
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/** What the API would refuse in a new user, in Chinese (CONTRACT.md §3 People). */
export function checkUser({ username, password, role, sections }) {
  const errors = [];
  if (!USERNAME.test(username) || username.length > 80) errors.push("用户名只能用英文字母、数字和 . _ @ -，以字母或数字开头");
  if (password.length < 10) errors.push("密码至少 10 个字符");
  if (password && password === username) errors.push("密码不能与用户名相同");
  if (role === "supervisor" && !sections.length) errors.push("监理至少分配一个标段");
  return errors;
}

export default function mount(container) {
  const body = frame(container, "人员与大屏", "people");
  const draw = async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const users = await api.getAll("/users");
    const username = h("input", { type: "text", "data-test": "u-name", autocomplete: "off" });
    const password = h("input", { type: "password", "data-test": "u-password", autocomplete: "new-password" });
    const role = select(Object.entries(ROLES).filter(([r]) => r !== "display"), "supervisor", { "data-test": "u-role" });
    const boxes = c.sections.map((s) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: s.code, "data-section": s.code }), `${s.code} ${s.name}`));
    const errors = h("ul", { class: "errors" });
    const values = () => ({ username: username.value.trim(), password: password.value, role: role.value,
      sections: boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value) });
    const create = button("新建用户", async (e) => {
      const v = values();
      const problems = checkUser(v);
      errors.replaceChildren(...problems.map((p) => h("li", null, p)));
      if (problems.length) return;
      const scoped = v.role !== "admin" && v.role !== "viewer";
      if (await act(e.currentTarget, () => api.post("/users", { ...v, competition: scoped ? c.cid : null,
        sections: scoped ? v.sections : [] }), `已新建 ${v.username}`)) refresh();
    }, "primary", { "data-test": "u-create" });

    const rows = users.map((u) => h("tr", { "data-user": u.username },
      h("td", null, u.username), h("td", null, ROLES[u.role] || u.role),
      h("td", null, (u.sections || []).join("、") || "—"),
      h("td", null, u.active === false ? "已停用" : "在用"),
      h("td", { class: "links" }, ["supervisor", "contractor"].includes(u.role) && u.competition === c.cid
        ? button("分配标段", (ev) => assign(ev.currentTarget, c, u), "secondary small", { "data-test": "assign" }) : null,
      button(u.active === false ? "启用" : "停用", async (ev) => {
        const active = u.active === false;
        const ok = await modal({ title: `${active ? "启用" : "停用"} ${u.username}？`, confirm: active ? "启用" : "停用", danger: !active,
          body: h("p", null, active ? "恢复该账号，可再用密码登录。" : "离开项目的人：全部令牌立即失效，密码不再可用；其记录和审计保留。") });
        if (ok && await act(ev.currentTarget, () => api.request("PATCH", `/users/${u.id}`, { json: { active } }), "已保存")) refresh();
      }, "secondary small", { "data-test": "active" }),
      button("吊销令牌", async (ev) => {
        const ok = await modal({ title: `吊销 ${u.username} 的全部令牌？`, body: h("p", null, "该用户所有设备立即退出登录，需用密码重新登录；大屏链接会失效。"),
          confirm: "吊销", danger: true });
        if (!ok) return;
        const done = await act(ev.currentTarget, () => api.post(`/users/${u.id}/tokens/revoke`, {}));
        if (done) toast(`已吊销 ${done.data.revoked} 个令牌`);
      }, "secondary small", { "data-test": "revoke-tokens" }))));

    const wall = h("div", { class: "wall-box" });
    const makeWall = button("生成大屏链接", async (e) => {
      const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 12);
      const name = `wall-${c.cid}-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
      const made = await act(e.currentTarget, () => api.post("/users", { username: name, role: "display", competition: c.cid, sections: [] }));
      if (!made) return;
      const url = `${window.location.origin}/wall/${c.cid}?token=${made.data.token}`;
      wall.replaceChildren(h("p", null, "在大屏的浏览器里扫码或输入下面的地址（只能看排行榜；不用时在上表「吊销令牌」）："),
        h("p", { class: "wall-url", "data-test": "wall-url" }, url),
        h("div", { class: "qr", "data-test": "wall-qr" }, toSvg(url)),
        h("p", null, h("a", { href: url, target: "_blank", rel: "noopener" }, "在新窗口打开大屏")));
      refresh(true);
    }, "primary", { "data-test": "make-wall" });

    body.replaceChildren(
      h("h3", null, "新建用户"),
      h("div", { class: "form-grid" }, field("用户名", username), field("初始密码（至少 10 位）", password), field("角色", role),
        h("div", { class: "fld wide" }, h("span", null, "负责标段（监理、施工单位）"), h("div", { class: "toolbar" }, boxes)),
        create),
      errors,
      h("h3", null, "大屏"), makeWall, wall,
      h("h3", null, "全部用户"),
      table(["用户名", "角色", "标段", "状态", ""], rows));
    return null;
  };
  async function assign(btn, c, u) {
    const boxes = c.sections.map((s) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: s.code, checked: (u.sections || []).includes(s.code), "data-assign": s.code }), `${s.code} ${s.name}`));
    const ok = await modal({ title: `${u.username} 负责的标段`, body: h("div", { class: "toolbar" }, boxes), confirm: "保存" });
    if (!ok) return;
    const sections = boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value);
    if (await act(btn, () => api.request("PATCH", `/users/${u.id}`, { json: { sections } }), "已保存，下次请求起生效")) refresh();
  }

  let kept = null;
  const refresh = async (keepWall) => {
    const wall = keepWall ? body.querySelector(".wall-box") : null;
    kept = wall ? [...wall.childNodes] : null;
    await draw().catch((error) => body.replaceChildren(h("p", { class: "notice" }, explain(error))));
    if (kept) body.querySelector(".wall-box").replaceChildren(...kept);
  };
  refresh();
  return null;
}
