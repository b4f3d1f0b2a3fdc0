// Logging in: username and password → a token kept on this device. The same form appears as a dialog
// when the token has run out or was revoked, over whatever was on screen, with the queue kept.

import { ApiError } from "../api.js";
import { h } from "../dom.js";
import * as outbox from "../outbox.js";
import * as session from "../session.js";

function loginForm({ username = "", note = null, onDone }) {
  const user = h("input", { type: "text", name: "username", autocomplete: "username", autocapitalize: "none",
                            spellcheck: "false", required: true, value: username, "data-test": "username" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password",
                                required: true, "data-test": "password" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: "primary wide", "data-test": "login" }, "登录");
  const form = h("form", { class: "login", novalidate: true },
    note,
    h("label", null, "用户名", user),
    h("label", null, "密码", password),
    error,
    button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!user.value.trim() || !password.value) {
      error.textContent = "请填写用户名和密码";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = "正在登录…";
    try {
      await session.login(user.value.trim(), password.value);
      onDone();
    } catch (failure) {
      error.textContent = loginError(failure);
      error.hidden = false;
    } finally {
      button.disabled = false;
      button.textContent = "登录";
    }
  });
  return { form, focus: () => (username ? password : user).focus() };
}

function loginError(failure) {
  if (!(failure instanceof ApiError)) return `登录失败：${failure.message}`;
  if (failure.kind === "network") return "无法连接服务器，请检查网络后再试";
  if (failure.status === 401) return "用户名或密码不对";
  if (failure.status === 429) {
    const minutes = failure.retryAfter ? Math.ceil(failure.retryAfter / 60) : 15;
    return `登录失败次数太多，请 ${minutes} 分钟后再试`;
  }
  return `登录失败（${failure.status}），请稍后再试`;
}

function waitingNote() {
  const waiting = outbox.pendingCount();
  return waiting ? h("p", { class: "notice" }, `本机有 ${waiting} 条记录等待提交，登录后会自动发送。`) : null;
}

/** The whole screen, when nobody is logged in. */
export function loginScreen(root) {
  const { form, focus } = loginForm({ username: session.state.lastUsername, note: waitingNote(), onDone: () => {} });
  root.replaceChildren(h("div", { class: "login-page" },
    h("img", { class: "logo", src: "/app/static/icons/icon-192.png", alt: "" }),
    h("h1", null, "五比五赛 · 现场记分"),
    form,
    h("p", { class: "hint" }, "监理、竞赛办和领导用同一个入口。登录信息只保存在这台设备上。")));
  focus();
  return null;
}

/** A dialog over the current screen, when the login ran out; closes itself on success. */
export function loginDialog(onClose) {
  const dialog = h("dialog", { class: "ask relogin" });
  const { form, focus } = loginForm({
    username: session.state.user ? session.state.user.username : session.state.lastUsername,
    note: h("p", { class: "notice" }, "登录已失效（过期或被撤销），请重新登录。",
      outbox.pendingCount() ? `本机 ${outbox.pendingCount()} 条待提交的记录都还在，登录后自动发送。` : ""),
    onDone: () => close(),
  });
  const close = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
    onClose();
  };
  dialog.append(h("h2", null, "请重新登录"), form,
    h("button", { type: "button", class: "secondary", onclick: async () => { close(); await session.logout(); } },
      "换一个用户登录"));
  dialog.addEventListener("cancel", (event) => event.preventDefault());  // the queue needs a login to move
  document.body.append(dialog);
  dialog.showModal();
  focus();
  return { close };
}
