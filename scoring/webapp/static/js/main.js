// The app's start: storage, session, outbox, service worker, then the screen the address names.

import * as context from "./context.js";
import * as db from "./db.js";
import { confirmDialog, h, toast } from "./dom.js";
import * as outbox from "./outbox.js";
import * as router from "./router.js";
import boards from "./screens/boards.js";
import help from "./screens/help.js";
import { loginDialog, loginScreen } from "./screens/login.js";
import mine from "./screens/mine.js";
import notices from "./screens/notices.js";
import office from "./office.js";
import outboxScreen from "./screens/outbox.js";
import post from "./screens/post.js";
import * as session from "./session.js";

// The order is the order of the tabs. More roles' screens (issues 16, 17) are added here.
router.register(post, notices, outboxScreen, mine, boards, ...office, help);

const ROLE_NAMES = { supervisor: "监理", admin: "竞赛办", viewer: "领导", contractor: "施工单位", display: "大屏" };
const root = document.getElementById("app");
let shell = null;  // {main, tabs, count, network, user} while someone is logged in

function showNetwork() {
  if (!shell) return;
  const online = navigator.onLine !== false;
  shell.network.textContent = online ? "在线" : "离线";
  shell.network.className = `network ${online ? "online" : "offline"}`;
}
window.addEventListener("online", showNetwork);
window.addEventListener("offline", showNetwork);

function buildShell(user) {
  const count = h("b", { class: "count", "data-test": "outbox-count" }, String(outbox.pendingCount()));
  const network = h("span", { class: "network", role: "status" });
  const tabs = router.allowed(user.role).map((screen) => h("a", {
    href: `#/${screen.name}`, class: "tab", "data-screen": screen.name,
  }, screen.title, screen.name === "outbox" ? count : null));
  const main = h("main", { id: "screen" });
  root.replaceChildren(
    h("header", { class: "bar" },
      h("div", { class: "brand" }, h("img", { src: "/app/static/icons/icon-192.png", alt: "" }), "五比五赛",
        h("span", { class: "role" }, ROLE_NAMES[user.role] || user.role)),
      network,
      h("span", { class: "who" }, user.username),
      h("button", { type: "button", class: "secondary small", onclick: logout }, "退出")),
    h("nav", { class: "tabs" }, tabs),
    h("div", { id: "update", class: "banner", hidden: true }),
    main);
  shell = { main, tabs, count, network, user: user.username };
  showNetwork();
}

async function logout() {
  const waiting = outbox.pendingCount();
  const ok = await confirmDialog({
    title: "退出登录？",
    text: waiting ? `本机还有 ${waiting} 条记录没有提交。退出后它们仍保存在这台设备上，您再次登录后会自动发送。` : "",
    confirm: "退出",
  });
  if (ok) await session.logout();
}

function render({ name, params }) {
  const user = session.state.user;
  if (!user) {
    shell = null;
    return loginScreen(root);
  }
  const screens = router.allowed(user.role);
  if (!screens.length) {  // a display token's user, say: nothing here for it
    shell = null;
    root.replaceChildren(h("div", { class: "login-page" }, h("p", { class: "notice" }, "此账号没有可用的页面。"),
      h("button", { type: "button", class: "primary wide", onclick: () => session.logout() }, "退出")));
    return null;
  }
  const screen = router.find(name, user.role) || screens[0];
  if (screen.name !== name) {
    router.go(screen.name);
    return null;
  }
  if (!shell || shell.user !== user.username) buildShell(user);
  for (const tab of shell.tabs) tab.classList.toggle("active", tab.dataset.screen === screen.name);
  shell.main.replaceChildren();
  document.title = `${screen.title} · 五比五赛`;
  return screen.mount(shell.main, params);
}

// -- the login running out while postings wait -----------------------------------------------------

let relogin = null;
let signedIn = "";

function onSession() {
  const user = session.state.user;
  const key = user ? `${user.username}|${session.state.needsLogin}` : "";
  if (key === signedIn) return;  // only a login, a logout or an expiry changes what is on screen
  const before = signedIn;
  signedIn = key;
  if (user && session.state.needsLogin) {
    if (!relogin) relogin = loginDialog(() => { relogin = null; });
    return;
  }
  if (relogin) {
    relogin.close();
    relogin = null;
  }
  if (user && before.split("|")[0] === user.username) {
    outbox.flush();  // the same person again: what waited goes now
    return;
  }
  context.reset();
  router.refresh();
  if (user) outbox.flush();
}

// -- the service worker: the app opens offline (secure contexts only) -------------------------------

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;  // plain http on a LAN address: online only, outbox still kept
  const controlled = Boolean(navigator.serviceWorker.controller);
  let registration;
  try {
    registration = await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/", updateViaCache: "none" });
  } catch (error) {
    registration = null;
  }
  if (!registration) return;  // refused (a policy, a private window): the app still works online
  const offer = (worker) => {
    const banner = document.getElementById("update");
    const apply = () => worker.postMessage("skip-waiting");
    if (!banner || !document.querySelector("form.posting.dirty")) {
      apply();
      return;
    }
    banner.replaceChildren("新版本已下载。", h("button", { type: "button", class: "primary small", onclick: apply }, "立即更新"));
    banner.hidden = false;
  };
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (controlled && !reloading) {  // a new version took over: load it (the outbox is in IndexedDB)
      reloading = true;
      window.location.reload();
    }
  });
  if (registration.waiting && controlled) offer(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
    });
  });
  // Enketo's lesson (enketo-express#470): look for a new version at every load, not once a day.
  registration.update().catch(() => {});
}

async function boot() {
  try {
    await db.open();
  } catch (error) {
    root.replaceChildren(h("p", { class: "fatal" }, "此浏览器无法在本机保存数据（IndexedDB 不可用，可能处于隐私模式）。请换用普通模式打开。"));
    return;
  }
  await session.restore();
  await outbox.load();
  outbox.events.addEventListener("change", () => {
    if (shell) shell.count.textContent = String(outbox.pendingCount());
  });
  outbox.events.addEventListener("warning", (event) => toast(`服务器提示：${event.detail}`, "error"));
  session.events.addEventListener("change", onSession);
  signedIn = session.state.user ? `${session.state.user.username}|false` : "";
  router.start(render);
  if (session.state.needsLogin) onSession();
  outbox.start();
  db.persist();
  registerWorker();
  if (session.state.user && !session.state.needsLogin) {
    session.refreshMe();
    session.revokeForgotten();
  }
}

window.addEventListener("unhandledrejection", (event) => {
  toast(`出错了：${event.reason && event.reason.message ? event.reason.message : event.reason}`, "error");
});

boot();
