// Help in plain words: what the states mean, what never to do with postings waiting, and this device's state.

import { h } from "../dom.js";
import * as outbox from "../outbox.js";

export default {
  name: "help",
  title: "帮助",
  roles: ["supervisor", "admin", "viewer", "contractor"],
  mount(container) {
    const waiting = outbox.pendingCount();
    const worker = "serviceWorker" in navigator;
    container.append(h("section", { class: "help-screen" },
      h("h2", null, "使用说明"),
      h("div", { class: ["warning-box", waiting && "urgent"] },
        h("b", null, `这台设备上现在有 ${waiting} 条记录尚未被服务器确认。`),
        h("p", null, "记录先保存在本设备的浏览器里，再发往服务器。在浏览器里「清除网站数据」「清除浏览数据」或卸载浏览器，"
          + "会把尚未提交的记录永久删掉。清除之前，请确认上面的数字是 0。")),
      h("h3", null, "记录的状态"),
      h("dl", null,
        h("dt", null, "待发送"), h("dd", null, "已保存在本设备，等待网络；联网后自动发送，也可在「待发送」页点「发送」。"),
        h("dt", null, "发送中"), h("dd", null, "正在发往服务器。开始发送后记录就不能再修改，以免服务器上出现两种内容。"),
        h("dt", null, "已提交"), h("dd", null, "服务器已保存，显示服务器编号。重复发送不会重复记分。"),
        h("dt", null, "被退回"), h("dd", null, "服务器没有接受，并说明了原因。它会一直留着，直到您点「放弃」；"
          + "要改正，就点「复制为新记录」。")),
      h("h3", null, "没有网络时"),
      h("p", null, "照常记分：记录存在本设备，有网络时自动发送（每隔几秒检查一次）。登录过期时会请您重新登录，待发送的记录不会丢。"),
      h("p", null, worker
        ? "本设备已启用离线打开：没有网络时也能打开本页面。"
        : "当前连接不是 https，浏览器不允许离线打开本页面（仍可记分，记录同样保存在本设备）。请让竞赛办提供 https 地址。"),
      h("p", null, "iPad / Safari：请用「添加到主屏幕」打开本应用，否则 Safari 可能在 7 天不用后清除本机保存的数据。"),
      h("h3", null, "照片与定位"),
      h("p", null, "照片在本设备上压缩到长边不超过 2048 像素后保存，联网时先于记录上传。设备定位只在您允许、且连接为 https 时附带。")));
    return null;
  },
};
