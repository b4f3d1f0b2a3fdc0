// The office console and the leaders' view (CONTRACT.md §5): their screens live in /app/static/office/ and
// are fetched with import() only when an admin or a viewer opens one, so a supervisor's tablet never loads them.

const lazy = (name, title, roles) => ({
  name, title, roles,
  mount(container, params) {
    let cleanup = null;
    let gone = false;
    container.textContent = "正在载入…";
    import(`../office/${name}.js`).then((m) => {
      if (gone) return;
      container.replaceChildren();
      cleanup = m.default(container, params);
    }, () => { container.textContent = "载入失败，请检查网络后刷新。"; });
    return () => {
      gone = true;
      if (typeof cleanup === "function") cleanup();
    };
  },
});

export default [
  lazy("leaders", "走势与报表", ["admin", "viewer"]),
  lazy("months", "月度结账", ["admin"]),
  lazy("vetoes", "一票否决", ["admin"]),
  lazy("entries", "记录", ["admin"]),
  lazy("audit", "审计", ["admin"]),
  lazy("people", "人员", ["admin"]),
  lazy("setup", "竞赛设置", ["admin"]),
  lazy("mail", "邮件", ["admin"]),
  lazy("channels", "群机器人", ["admin"]),
];
