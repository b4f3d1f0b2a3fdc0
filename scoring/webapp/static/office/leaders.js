// The leaders' view: a section's (or team's) rank and total over the months as an SVG chart drawn here from
// the daily snapshots (GET …/leaderboard/history), the year board, and each month's report and exports.

import { act, api, board, button, downloadButton, explain, field, flagMark, frame, h, leaderboard, load, months, noCompetition, periodLabel, select } from "./ui.js";
import { localValue } from "../js/zone.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  for (const child of children) node.append(child);
  return node;
}

const DAY = 86400000;

/** The chart of one subject's daily history: total (solid, left scale) and rank (dashed, right scale, 1 on top). */
export function chart(points, title) {
  const W = 900, H = 280, L = 52, R = 64, T = 16, B = 40;
  if (!points.length) return h("p", { class: "notice" }, "还没有每日快照（每天 23:50 自动记录）。");
  const time = (p) => Date.parse(`${p.day}T00:00:00Z`);
  const t0 = time(points[0]);
  const span = Math.max(time(points[points.length - 1]) - t0, DAY);
  const x = (p) => L + ((time(p) - t0) / span) * (W - L - R);
  const totals = points.filter((p) => p.total !== null).map((p) => Number(p.total));
  const low = totals.length ? Math.max(0, Math.floor((Math.min(...totals) - 1) / 5) * 5) : 0;
  const high = Math.max(100, ...totals.map(Math.ceil));  // bonuses can take a total past 100
  const y = (total) => T + ((high - total) / Math.max(high - low, 1)) * (H - T - B);
  const worst = Math.max(2, ...points.map((p) => p.rank || 1));
  const yr = (rank) => T + ((rank - 1) / (worst - 1)) * (H - T - B);
  const nodes = [];
  const hundred = high > 100 && (high - 100) / (high - low) > 0.1 ? [[100, "100"]] : [];  // unless it would touch the top's label
  for (const [value, label] of [[low, String(low)], ...hundred, [high, String(high)]]) {
    nodes.push(svg("line", { x1: L, x2: W - R, y1: y(value), y2: y(value), class: "grid-line" }),
      svg("text", { x: L - 6, y: y(value) + 5, "text-anchor": "end", class: "axis" }, label));
  }
  for (const rank of [1, worst]) {
    nodes.push(svg("text", { x: W - R + 6, y: yr(rank) + 5, class: "axis" }, `第${rank}名`));
  }
  // Each month is its own series: in its first days the month before, not yet closed, is snapshotted too, so
  // a day can have a point of each; one line per month, one tick where each month begins.
  const byMonth = new Map();
  for (const p of points) byMonth.set(p.period, [...(byMonth.get(p.period) || []), p]);
  for (const [, [p]] of byMonth) {
    nodes.push(svg("line", { x1: x(p), x2: x(p), y1: T, y2: H - B, class: "month-line" }),
      svg("text", { x: x(p) + 3, y: H - B + 20, class: "axis" }, periodLabel(p.period).replace(/^\d+年/, "")));
  }
  const line = (pick, scale, cls) => {  // broken where the value is missing (not assessed, vetoed)
    let run = [];
    const flush = () => {
      if (run.length) nodes.push(svg("polyline", { points: run.join(" "), class: cls, fill: "none" }));
      run = [];
    };
    for (const series of byMonth.values()) {
      for (const p of series) {
        if (pick(p) === null || pick(p) === undefined) flush();
        else run.push(`${x(p).toFixed(1)},${scale(Number(pick(p))).toFixed(1)}`);
      }
      flush();
    }
  };
  line((p) => p.total, y, "total-line");
  line((p) => p.rank, yr, "rank-line");
  for (const p of points) {
    if (p.total === null) continue;
    nodes.push(svg("circle", { cx: x(p), cy: y(Number(p.total)), r: 3, class: "dot" },
      svg("title", null, `${p.day} 总分 ${Number(p.total)}${p.rank ? ` 第${p.rank}名` : ""}`)));
  }
  const last = points[points.length - 1];
  return h("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-test": "chart",
      "data-points": points.length }, ...nodes),
    h("figcaption", null, h("span", { class: "key total" }, "总分（左）"), h("span", { class: "key rank" }, "名次（右）"),
      ` 最近：${last.day} 总分 ${last.total ?? "—"}，${last.rank ? `第${last.rank}名` : "无名次"}`));
}

export default function mount(container) {
  const body = frame(container, "走势与报表", "leaders");
  let alive = true;
  (async () => {
    const c = await load();
    if (!c.cid) return noCompetition(body);
    const year = c.month.slice(0, 4);
    const kind = select([["sections", "标段"], ["teams", "党员突击队"]], "sections", { "data-test": "chart-board" });
    const subject = h("select", { "data-test": "chart-subject" });
    const chartBox = h("div", { class: "chart-box" });
    const fill = () => {
      const list = kind.value === "sections" ? c.sections : c.teams;
      subject.replaceChildren(...list.map((s) => h("option", { value: s.code }, `${s.code} ${s.name}`)));
    };
    let history = null;
    const draw = () => {
      const series = history && history.subjects.find((s) => s.code === subject.value);
      chartBox.replaceChildren(chart(series ? series.history : [], `${subject.value} 的总分与名次`));
    };
    const fetchHistory = async () => {
      const to = localValue(new Date(), c.tz).slice(0, 10);  // today on the competition's calendar
      const from = `${Number(year) - 1}${c.month.slice(4)}-01`;
      history = (await api.get(`/competitions/${c.cid}/leaderboard/history?board=${kind.value}&from=${from}&to=${to}`)).data;
      if (alive) draw();
    };
    kind.addEventListener("change", () => { fill(); fetchHistory(); });
    subject.addEventListener("change", draw);
    fill();

    const yearPick = select([[year, `${year}年`], [Number(year) - 1, `${Number(year) - 1}年`]], year);
    const yearBox = h("div");
    const drawYear = () => act(null, async () => {
      const { data } = await api.get(`/competitions/${c.cid}/leaderboard?board=sections&period=${yearPick.value}`);
      yearBox.replaceChildren(board(data));
    });
    yearPick.addEventListener("change", drawYear);

    const list = await months(c.cid, c.month);
    const base = `/competitions/${c.cid}`;
    const monthBoard = h("div", { class: "month-board" });
    const monthRows = list.map((p) => h("tr", { "data-period": p.key },
      h("td", null, periodLabel(p.key)), h("td", null, p.status === "closed" ? "已结账" : "进行中"),
      h("td", null, p.flag ? [flagMark(), p.flag.name] : "—"),
      h("td", { class: "links" },
        button("榜单", () => act(null, async () => {
          monthBoard.replaceChildren(h("h4", null, `${periodLabel(p.key)} 标段榜`), board(await leaderboard(c.cid, p.key)),
            h("h4", null, `${periodLabel(p.key)} 党员突击队榜`), board(await leaderboard(c.cid, p.key, "teams")));
        }), "secondary small", { "data-test": "month-board" }),
        downloadButton("月报 HTML", `${base}/reports/${p.key}?format=html`, `月报-${p.key}.html`),
        downloadButton("月报 Excel", `${base}/reports/${p.key}?format=xlsx`, `月报-${p.key}.xlsx`),
        downloadButton("记录 CSV", `${base}/exports/entries.csv?period=${p.key}`, `记录-${p.key}.csv`),
        downloadButton("排名 Excel", `${base}/exports/standings.xlsx?period=${p.key}`, `排名-${p.key}.xlsx`))));
    if (!alive) return null;
    body.replaceChildren(
      h("h3", null, "历史走势"),
      h("div", { class: "toolbar" }, field("榜单", kind), field("对象", subject)), chartBox,
      h("h3", null, "年度榜（已结账月份的平均分）"),
      h("div", { class: "toolbar" }, field("年份", yearPick)), yearBox,
      h("h3", null, "月报与导出"),
      h("table", { class: "grid" }, h("tbody", null, monthRows)), monthBoard,
      h("p", { class: "hint" }, "文件用您的登录下载，不经任何外部网站。"),
      button("刷新", () => { fetchHistory(); drawYear(); }));
    await Promise.all([fetchHistory(), drawYear()]);
    return null;
  })().catch((error) => { body.replaceChildren(h("p", { class: "notice" }, `读取失败：${explain(error)}`)); });
  return () => { alive = false; };
}
