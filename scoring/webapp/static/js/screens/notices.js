// Rectification notices (整改通知单, CONTRACT.md §7). The contractor answers an open notice with a note and
// after-photos; the supervisor of its section re-checks an answered one (pass / reject with the reason).
// Both go through the outbox like a posting, so an answer written in a dead zone is kept and sent later.

import * as api from "../api.js";
import * as context from "../context.js";
import * as db from "../db.js";
import { h, toast } from "../dom.js";
import { newClientId } from "../ids.js";
import * as outbox from "../outbox.js";
import { MAX_PHOTOS, preparePhoto } from "../photos.js";
import { state as session } from "../session.js";
import { shortTime } from "../zone.js";

const STATUS = { open: "待整改", responded: "待复核", closed: "已闭环", cancelled: "已撤销" };
const STEP = { issued: "下发", responded: "回复", passed: "复查通过", rejected: "退回整改", cancelled: "撤销", overdue: "逾期" };
const BY = { scheduler: "系统" };  // the scheduler marks a notice overdue; people see who, not a process's name
const FILTERS = { todo: "待办", overdue: "逾期", all: "全部", closed: "已闭环" };

export default {
  name: "notices",
  title: "整改通知",
  roles: ["contractor", "supervisor", "admin"],
  mount(container, params) {
    const filter = FILTERS[params[0]] ? params[0] : "todo";
    const status = h("p", { class: "hint", role: "status" });
    const list = h("div", { class: "notices" }, h("p", { class: "loading" }, "正在读取…"));
    container.append(h("section", { class: "notices-screen" },
      h("div", { class: "boards-head" }, h("h2", null, "整改通知"),
        h("div", { class: "chips" }, Object.entries(FILTERS).map(([code, label]) =>
          h("a", { class: ["chip", code === filter && "active"], href: `#/notices/${code}` }, label)))),
      status, list));
    const urls = [];
    let app = null;
    let stopped = false;
    let sentBefore = sentCount();

    async function load() {
      const key = `notices:${app.cid}`;
      let rows;
      try {
        rows = await api.getAll(`/competitions/${app.cid}/notices`);
        await db.put("kv", { rows, at: new Date().toISOString() }, key);
        status.textContent = "";
      } catch (error) {
        const cached = await db.get("kv", key);
        if (!cached) throw error;
        rows = cached.rows;
        status.textContent = `离线：显示 ${shortTime(new Date(cached.at), app.book.timeZone)} 的数据`;
      }
      if (!stopped) draw(rows);
    }

    function draw(rows) {
      const role = session.user.role;
      const mine = new Set(session.user.sections || []);
      const shown = rows.filter((n) => role !== "supervisor" || mine.has(n.section)).filter((n) => (
        filter === "all" || (filter === "closed" ? n.status === "closed" : filter === "overdue" ? n.overdue
          : (role === "contractor" ? n.status === "open" : role === "supervisor" ? n.status === "responded"
            : n.status === "open" || n.status === "responded"))));
      shown.sort((a, b) => a.rectify_by.localeCompare(b.rectify_by) || a.number.localeCompare(b.number));
      list.replaceChildren(...(shown.length ? shown.map(card) : [h("p", { class: "empty" }, "没有整改通知。")]));
    }

    function card(n) {
      const tz = app.book.timeZone;
      const waiting = outbox.list().filter((r) => r.target === n.id && r.state !== "sent");
      const history = h("ol", { class: "steps" }, n.steps.map((s) => h("li", null,
        h("b", null, STEP[s.action] || s.action), ` ${BY[s.by] || s.by} · ${shortTime(new Date(s.at), tz)}`,
        s.note ? ` · ${s.note}` : "", s.photos.length ? ` · 照片 ${s.photos.length} 张` : "",
        s.photos.length ? gallery(s.photos) : null)));
      const entry = n.entry;
      return h("article", { class: ["notice-card", n.overdue && "overdue"], "data-test": "notice",
        "data-number": n.number, "data-status": n.status },
      h("div", { class: "what" }, h("b", null, n.number), " ",
        h("span", { class: ["tag", n.status, n.overdue && "late"] }, n.overdue ? `逾期 · ${STATUS[n.status]}` : STATUS[n.status]),
        ` ${n.section} ${n.section_name}`),
      h("div", { class: "meta" }, `整改期限 ${n.rectify_by} · ${entry.item || ""} 扣 ${entry.points} 分 · ${n.issued_by} 下发`),
      entry.note ? h("div", { class: "note" }, entry.note) : null,
      n.photos.length ? gallery(n.photos) : null,
      history,
      waiting.length ? h("p", { class: "hint warn", "data-test": "notice-waiting" },
        `本机有 ${waiting.length} 条尚未提交的处理（见"待发送"）`) : action(n));
    }

    function gallery(ids) {
      const box = h("div", { class: "thumbs" });
      for (const id of ids) {
        api.get(`/photos/${id}?size=thumb`, { blob: true }).then(({ data }) => {
          const url = URL.createObjectURL(data);
          urls.push(url);
          box.append(h("img", { src: url, alt: "照片", class: "thumb-img" }));
        }, () => box.append(h("span", { class: "hint" }, "照片需联网查看")));
      }
      return box;
    }

    function action(n) {
      const role = session.user.role;
      const note = h("textarea", { rows: 2, maxlength: 4000 });
      const error = h("p", { class: "field-error", hidden: true });
      const fail = (text) => { error.textContent = text; error.hidden = false; };
      if (role === "contractor" && n.status === "open") {
        note.dataset.test = "response-note";
        note.placeholder = "整改措施及完成情况";
        const input = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, "data-test": "response-photo" });
        const send = async () => {
          if (!note.value.trim()) return fail("请写明整改情况");
          const files = [...input.files].slice(0, MAX_PHOTOS);
          let photos;
          try {
            photos = await Promise.all(files.map(preparePhoto));
          } catch (e) {
            return fail(e.message);
          }
          await queue(n, "response", { note: note.value.trim(), photos: [...new Set(photos.map((p) => p.id))] }, photos,
            `整改回复 ${n.number}`);
        };
        return h("div", { class: "notice-form" }, h("label", null, "整改回复", note),
          h("label", null, "整改后照片", input), error,
          h("button", { type: "button", class: "primary", "data-test": "respond", onclick: send }, "提交整改回复"));
      }
      if ((role === "supervisor" || role === "admin") && n.status === "responded") {
        note.dataset.test = "review-note";
        note.placeholder = "复查意见（退回时必填）";
        const review = (result) => async () => {
          if (result === "reject" && !note.value.trim()) return fail("退回整改须写明原因");
          await queue(n, "review", { result, note: note.value.trim() || null }, [],
            `${result === "pass" ? "复查通过" : "退回整改"} ${n.number}`);
        };
        return h("div", { class: "notice-form" }, h("label", null, "复查意见", note), error,
          h("div", { class: "actions" },
            h("button", { type: "button", class: "primary", "data-test": "pass", onclick: review("pass") }, "复查通过"),
            h("button", { type: "button", class: "danger", "data-test": "reject", onclick: review("reject") }, "退回整改")));
      }
      return null;
    }

    async function queue(n, type, fields, photos, title) {
      await outbox.enqueue({ type, target: n.id, competition: app.cid, photos,
        body: { client_id: newClientId(), ...fields }, summary: { title, note: fields.note } });
      toast("已存入待发送，联网后自动提交");
      load().catch(() => {});
    }

    function sentCount() {
      return outbox.list().filter((r) => r.target && r.state === "sent").length;
    }

    function onChange() {  // an answer acknowledged: show the notice as the server has it now
      const sent = sentCount();
      if (sent !== sentBefore && app) load().catch(() => {});
      sentBefore = sent;
    }
    outbox.events.addEventListener("change", onChange);

    context.ready().then((ready) => {
      app = ready;
      if (!stopped) return load();
      return null;
    }).catch(() => { list.replaceChildren(h("p", { class: "notice" }, "需要联网读取。")); });
    return () => {
      stopped = true;
      outbox.events.removeEventListener("change", onChange);
      for (const url of urls) URL.revokeObjectURL(url);
    };
  },
};
