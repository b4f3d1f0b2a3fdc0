// The wall display: polls both leaderboards with If-None-Match and redraws them when they change.
// Data only ever goes into the page through textContent (names and veto reasons are user input).
"use strict";

(function () {
  const body = document.body;
  const cid = body.dataset.competition;
  const timeZone = knownZone(body.dataset.timezone) || "Asia/Shanghai";
  const pollMs = Number(body.dataset.pollSeconds || 5) * 1000;
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const BOARDS = ["sections", "teams"];
  const CRITERIA = ["quality", "safety", "schedule", "environment", "management"];
  const REQUEST_TIMEOUT_MS = 8000;

  function knownZone(zone) {
    try {
      new Intl.DateTimeFormat("zh-CN", { timeZone: zone });
      return zone;
    } catch (error) {
      return null;  // a zone this browser does not know: show office time rather than nothing
    }
  }

  // data: the boards on show; current: this month's (period=current); previous: last month's, fetched while
  // this month has no result yet (the 1st, before the first inspection), so the wall is never all grey.
  const state = { etag: {}, data: {}, current: {}, previous: {}, showing: "current", offlineSince: null,
                  lastSync: null };
  const $ = (id) => document.getElementById(id);

  // -- formatting -----------------------------------------------------------------------------
  const timeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const dateTimeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false,
  });
  const clockTime = (date) => timeFormat.format(date);

  function periodLabel(key) {
    const m = /^(\d{4})(?:-(\d{2}))?$/.exec(key || "");
    if (!m) return key || "—";
    return m[2] ? `${m[1]}年${Number(m[2])}月` : `${m[1]}年`;
  }

  function points(value, places) {
    if (value === null || value === undefined) return "—";
    return places ? Number(value).toFixed(places) : String(Number(value));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function flagIcon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "flag-icon");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", "#red-flag");
    svg.appendChild(use);
    return svg;
  }

  function badge(className, text, title) {
    const node = el("span", className, text);
    node.title = title;
    return node;
  }

  // -- drawing --------------------------------------------------------------------------------
  // Movement against last month misleads while few subjects have a result yet (+7 with two assessed):
  // shown once at least half of the board is assessed, or the month is closed.
  function movementMeaningful(data) {
    const rows = (data && data.rows) || [];
    if (data && data.status === "closed") return true;
    const assessed = rows.filter((r) => r.assessed || r.vetoed).length;
    return rows.length > 0 && assessed * 2 >= rows.length;
  }

  function drawRow(row, board, holder, showMovement) {
    const line = el("div", "row");
    line.dataset.code = row.code;
    if (row.vetoed) line.classList.add("vetoed");
    else if (!row.assessed) line.classList.add("unassessed");
    if (board === "sections" && holder && holder.section === row.code) line.classList.add("holder");

    const rank = el("span", "rank");
    if (row.rank) {
      rank.classList.add(`rank-${row.rank}`);
      rank.appendChild(el("b", null, row.rank));
    } else {
      rank.textContent = "—";
    }
    line.appendChild(rank);

    const name = el("span", "name");
    const main = el("span", "main");
    main.appendChild(el("span", "text", row.name));
    if (row.flags) {
      const flags = el("span", "flags");
      flags.title = "累计流动红旗";
      flags.appendChild(flagIcon());
      flags.appendChild(document.createTextNode(`×${row.flags}`));
      main.appendChild(flags);
    }
    const notices = board === "sections" ? ((state.data.sections || {}).notices || {})[row.code] : null;
    if (notices && notices.open) main.appendChild(badge("notice", `整改${notices.open}`, "未闭环的整改通知"));
    if (notices && notices.overdue) main.appendChild(badge("notice overdue", `逾期${notices.overdue}`, "逾期未整改"));
    name.appendChild(main);
    if (row.vetoed) {
      const sub = el("span", "sub");
      sub.appendChild(el("i", "veto-tag", "一票否决"));
      sub.appendChild(document.createTextNode(` ${row.veto_reason || ""}`));
      sub.title = row.veto_reason || "";
      name.appendChild(sub);
    }
    line.appendChild(name);

    let total;
    if (row.vetoed) total = points(row.total, 2);
    else if (!row.assessed) total = "未考核";
    else total = points(row.total, 2);
    line.appendChild(el("span", "total", total));

    for (const code of CRITERIA) {
      const crit = el("span", "crit", points(row.criteria ? row.criteria[code] : null));
      crit.dataset.criterion = code;
      line.appendChild(crit);
    }

    const move = el("span", "move");
    if (!showMovement || row.movement === null || row.movement === undefined) {
      move.classList.add("none");
      move.textContent = "—";
    } else if (row.movement > 0) {
      move.classList.add("up");
      move.textContent = `↑${row.movement}`;
    } else if (row.movement < 0) {
      move.classList.add("down");
      move.textContent = `↓${-row.movement}`;
    } else {
      move.classList.add("same");
      move.textContent = "=";
    }
    line.appendChild(move);
    return line;
  }

  function drawBoard(board) {
    const data = state.data[board];
    const container = document.querySelector(`#board-${board} [data-rows]`);
    if (!data || !container) return;
    const holder = (state.data.sections || {}).flag || null;
    const rows = data.rows || [];
    const fresh = document.createDocumentFragment();
    if (rows.length === 0) fresh.appendChild(el("div", "empty", "暂无数据"));
    const showMovement = movementMeaningful(data);
    container.dataset.movement = showMovement ? "shown" : "hidden";
    for (const row of rows) fresh.appendChild(drawRow(row, board, holder, showMovement));
    // Row height: fill the panel, but never taller than 96px nor shorter than 40px.
    const height = container.clientHeight || 760;
    const rowHeight = Math.max(40, Math.min(96, Math.floor(height / Math.max(rows.length, 1))));
    container.style.setProperty("--rh", `${rowHeight}px`);
    container.replaceChildren(fresh);
    container.querySelectorAll(".main .text").forEach(fitText);
  }

  // Long names (a team's full title) shrink until they fit on one line, down to 60% of the size.
  function fitText(node) {
    const full = parseFloat(getComputedStyle(node).fontSize);
    for (let size = full; size > full * 0.6 && node.scrollWidth > node.clientWidth; size -= 1) {
      node.style.fontSize = `${size - 1}px`;
    }
  }

  function drawHeader() {
    const sections = state.data.sections || state.data.teams;
    if (!sections) return;
    $("period").textContent = periodLabel(sections.period);
    if (sections.competition) {  // a corrected name shows without a reload
      $("competition-name").textContent = sections.competition.name;
      $("organizer").textContent = `${sections.competition.organizer} · 五比五赛实时排行榜`;
    }
    const status = $("period-status");
    const closed = sections.status === "closed";
    if (state.showing === "previous") {
      // Last month's result while this month has none yet: 已结账, or 待结账 until the office closes it.
      status.textContent = closed ? "上月结果 · 已结账" : "上月结果 · 待结账";
      status.className = `status previous ${closed ? "closed" : "pending"}`;
    } else {
      status.textContent = closed ? "已关账" : "实时 · 本月进行中";
      status.className = `status ${closed ? "closed" : "open"}`;
    }
    body.dataset.showing = state.showing;
    const flag = (state.data.sections || {}).flag;
    $("flag-name").textContent = flag ? flag.name : "暂无";
    $("flag-period").textContent = flag ? `${periodLabel(flag.period)}获得 · ${flag.section}` : "尚无关账月份";
    const generated = BOARDS.map((b) => state.data[b] && state.data[b].generated_at).filter(Boolean).sort();
    if (generated.length) $("generated-at").textContent = dateTimeFormat.format(new Date(generated.at(-1)));
  }

  // -- polling --------------------------------------------------------------------------------
  class Denied extends Error {}

  function previousKey(key) {
    const m = /^(\d{4})-(\d{2})$/.exec(key || "");
    if (!m) return null;
    const year = Number(m[1]), month = Number(m[2]);
    return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
  }

  function hasResults(data) {
    return Boolean(data && (data.rows || []).some((r) => r.assessed || r.vetoed));
  }

  // One board of one period into state[slot]; false when unchanged (304).
  async function fetchBoard(board, slot = "current", period = "current") {
    const url = `/api/v1/competitions/${encodeURIComponent(cid)}/leaderboard?board=${board}&period=${period}`;
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    const tag = `${slot}:${period}:${board}`;
    if (state.etag[tag]) headers["If-None-Match"] = state.etag[tag];
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, { headers, cache: "no-store", signal: controller.signal });
      if (response.status === 304) return false;
      if (response.status === 401 || response.status === 403) throw new Denied(String(response.status));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      state[slot][board] = data;
      state.etag[tag] = response.headers.get("ETag");
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  function setOffline(offline) {
    const banner = $("offline");
    if (offline) {
      if (!state.offlineSince) state.offlineSince = new Date();
      banner.textContent = `网络中断 · 自 ${clockTime(state.offlineSince)} 起离线 · 屏幕显示的是最后收到的数据`;
      banner.hidden = false;
      body.classList.add("is-offline");
    } else {
      state.offlineSince = null;
      banner.hidden = true;
      body.classList.remove("is-offline");
    }
  }

  async function poll() {
    try {
      const changed = await Promise.all(BOARDS.map((b) => fetchBoard(b)));
      const current = state.current;
      const before = state.showing;
      state.showing = BOARDS.some((b) => hasResults(current[b])) ? "current" : "previous";
      const last = previousKey((current.sections || current.teams || {}).period);
      if (state.showing === "previous" && last) {
        changed.push(...await Promise.all(BOARDS.map((b) => fetchBoard(b, "previous", last))));
        if (!BOARDS.some((b) => hasResults(state.previous[b]))) state.showing = "current";  // nothing to show
      }
      if (state.showing !== before) changed.push(true);
      state.data = state.showing === "previous" && last ? state.previous : state.current;
      setOffline(false);
      $("denied").hidden = true;
      state.lastSync = new Date();
      $("synced-at").textContent = clockTime(state.lastSync);
      if (changed.some(Boolean)) {
        // Redraw both: a few dozen rows, and the header reads from both boards.
        BOARDS.forEach(drawBoard);
        drawHeader();
      }
    } catch (error) {
      if (error instanceof Denied) {
        setOffline(false);
        $("denied").hidden = false;
      } else {
        setOffline(true);
      }
    } finally {
      setTimeout(poll, pollMs);
    }
  }

  // -- the canvas is 1920×1080; scale it to whatever screen it is on --------------------------
  function fit() {
    const scale = Math.min(window.innerWidth / 1920, window.innerHeight / 1080);
    body.style.transform = Math.abs(scale - 1) < 0.01 ? "" : `scale(${scale})`;
  }

  function tick() {
    $("clock").textContent = clockTime(new Date());
  }

  fit();
  window.addEventListener("resize", fit);
  tick();
  setInterval(tick, 1000);
  poll();
})();
