// The posting form (CONTRACT.md §5): a deduction or a bonus in a few taps, checked before it is queued.
// Native controls carry the automation hooks (data-test); the chips and the chainage slider only fill them.
//   #/post              a new posting
//   #/post/edit/<id>    change a queued posting the server has never been offered (same client_id)
//   #/post/copy/<id>    a new posting from a returned one (new client_id)

import * as chainage from "../chainage.js";
import * as context from "../context.js";
import { h, option, setOptions, toast } from "../dom.js";
import { newClientId } from "../ids.js";
import * as outbox from "../outbox.js";
import { MAX_PHOTOS, preparePhoto } from "../photos.js";
import { CRITERIA } from "../problems.js";
import * as router from "../router.js";
import { MAX_NOTE, checkPosting, itemOf, teamsOf } from "../rules.js";
import { localValue, periodOf, shortTime } from "../zone.js";

// Common findings, one tap each, for the criterion chosen (a mix of them before one is).
const FINDINGS = {
  quality: ["压实度不足", "平整度超标", "钢筋保护层不足", "试验检测不及时", "外观质量缺陷"],
  safety: ["临边防护缺失", "未戴安全帽", "用电不规范", "消防器材缺失", "警示标志缺失"],
  schedule: ["进度滞后于计划", "节点未按期完成", "人员机械投入不足"],
  environment: ["扬尘治理不到位", "裸土未覆盖", "施工便道积水", "渣土车未覆盖", "噪声超标"],
  management: ["资料填写不及时", "材料堆放混乱", "工完场未清", "人员未持证上岗"],
};
const SOME_FINDINGS = ["临边防护缺失", "扬尘治理不到位", "压实度不足", "进度滞后于计划", "资料填写不及时"];
const QUICK_POINTS = ["0.5", "1", "2", "3"];
const LOCATION_FRESH_MS = 5 * 60 * 1000;

/** A labelled field: the label (with a hint beside it), the control with what sits next to it, its error. */
function field(label, control, { name, aside = null, inline = [], after = null, wide = false }) {
  control.id = `field-${name}`;
  return h("div", { class: ["field", `f-${name}`, wide && "wide"] },
    h("div", { class: "head" }, h("label", { class: "label", for: control.id }, label), aside),
    h("div", { class: "row" }, control, inline),
    after,
    h("p", { class: "field-error", hidden: true, "data-error-for": name }));
}

export default {
  name: "post",
  title: "记分",
  roles: ["supervisor", "admin"],
  mount(container, params) {
    const [mode, clientId] = params;
    const host = h("div", { class: "post-screen" }, h("p", { class: "loading" }, "正在载入竞赛资料…"));
    container.append(host);
    let cleanup = () => {};
    let left = false;
    (async () => {
      let app;
      try {
        app = await context.ready();
      } catch (error) {
        host.replaceChildren(h("p", { class: "notice" }, "首次使用需要联网载入竞赛资料（标段、突击队、考核细则），联网后自动载入。"));
        window.addEventListener("online", () => { if (!left) router.refresh(); }, { once: true });
        return;
      }
      if (!app.book) {
        host.replaceChildren(h("p", { class: "notice" }, "没有可记分的竞赛。"));
        return;
      }
      const source = mode ? outbox.get(clientId) : null;
      // Held back from sending while it is changed; refused once sending has begun.
      const held = mode === "edit" && source ? await outbox.beginEdit(source.client_id) : mode !== "edit";
      if (left) {
        if (mode === "edit" && held) outbox.endEdit(source.client_id, null);
        return;
      }
      if ((mode && !source) || !held) {
        host.replaceChildren(h("p", { class: "notice" }, "这条记录已开始发送或不存在，不能再修改。"),
          h("a", { href: "#/outbox", class: "button secondary" }, "回到待发送"));
        return;
      }
      cleanup = buildForm(host, app, mode || "new", source);
    })();
    return () => {
      left = true;
      cleanup();
    };
  },
};

function buildForm(host, app, mode, source) {
  const { book, cid } = app;
  const tz = book.timeZone;
  const mySections = book.sections;

  // -- the controls, each a native element carrying its hook ------------------------------------------
  const section = h("select", { name: "section", "data-test": "section", required: true },
    mySections.length !== 1 ? option("", "请选择标段") : null,
    mySections.map((s) => option(s.code, `${s.code} ${s.name}`)));
  const team = h("select", { name: "team", "data-test": "team" });
  const kind = h("select", { name: "kind", "data-test": "kind" },
    option("deduction", "扣分"), option("bonus", "加分"));
  const criterion = h("select", { name: "criterion", "data-test": "criterion" });
  const item = h("select", { name: "item", "data-test": "item" });
  const itemHint = h("span", { class: "hint" });
  const points = h("input", { type: "text", name: "points", inputmode: "decimal", autocomplete: "off",
                              placeholder: "如 1.5", "data-test": "points" });
  const observedAt = h("input", { type: "datetime-local", name: "observed-at", "data-test": "observed-at",
                                  value: localValue(new Date(), tz) });
  const stake = h("input", { type: "text", name: "chainage", placeholder: "K23+450", autocomplete: "off",
                             autocapitalize: "characters", "data-test": "chainage" });
  const slider = h("input", { type: "range", class: "stake-slider", step: 10, "aria-label": "在标段范围内选桩号" });
  const stakeRange = h("span", { class: "hint" });
  const note = h("textarea", { name: "note", rows: 2, maxlength: MAX_NOTE, "data-test": "note",
                               placeholder: "发现的问题、整改要求…" });
  const photoInput = h("input", { type: "file", accept: "image/*", capture: "environment", multiple: true,
                                  class: "visually-hidden", id: "photo-input", "data-test": "photo" });
  const thumbs = h("div", { class: "thumbs" });
  const rectifyBy = h("input", { type: "date", name: "rectify-by", "data-test": "rectify-by" });
  const locationText = h("span", { class: "location-text" }, "定位：未取得");
  const useLocation = h("input", { type: "checkbox", checked: true });
  const periodNote = h("p", { class: "notice", hidden: true });
  const submit = h("button", { type: "submit", class: "primary wide", "data-test": "submit" },
    mode === "edit" ? "保存修改" : "保存并发送");
  const summary = h("div", { class: "form-error summary", role: "alert", hidden: true });

  const chip = (label, onclick) => h("button", { type: "button", class: "chip", onclick }, label);
  const findings = h("div", { class: "chips" });

  // -- the choices follow one another: section → teams, kind + criterion → items ------------------------
  function fillTeams() {
    const teams = teamsOf(book, section.value);
    setOptions(team, [option("", teams.length ? "不指定突击队" : "（本标段无突击队）"),
      ...teams.map((t) => option(t.code, `${t.name}`))]);
  }
  function fillCriteria() {
    const list = book.criteria.map((c) => option(c.code, `${CRITERIA[c.code] || c.code} · ${c.name}`));
    const general = kind.value === "bonus" && book.generalBonus ? [option("", "不限项目（上级表彰等）")] : [];
    setOptions(criterion, [...(kind.value === "deduction" || !general.length ? [option("", "请选择考核项目")] : []),
      ...general, ...list]);
  }
  function fillItems() {
    const chosen = book.criteria.find((c) => c.code === criterion.value);
    const items = chosen ? chosen.items : [];
    const first = kind.value === "bonus" ? option("", "不指定细则") : option("", chosen ? "请选择细则" : "先选考核项目");
    setOptions(item, [first, ...items.map((i) => option(i.code, `${i.code} ${i.name}（满分 ${Number(i.max_points)}）`))]);
    showLimit();
  }
  function fillFindings() {
    findings.replaceChildren(...(FINDINGS[criterion.value] || SOME_FINDINGS).map((text) => chip(text, () => addFinding(text))));
  }
  function showLimit() {
    const found = item.value ? itemOf(book, item.value) : null;
    const chosen = book.criteria.find((c) => c.code === criterion.value);
    if (kind.value === "deduction" && found) itemHint.textContent = `本细则满分 ${Number(found.item.max_points)} 分，单次扣分不超过此数`;
    else if (kind.value === "bonus" && chosen) itemHint.textContent = `「${CRITERIA[chosen.code]}」加分上限 ${Number(chosen.bonus_cap)} 分`;
    else if (kind.value === "bonus" && book.generalBonus) {
      itemHint.textContent = `不限项目加分（上级表彰等）上限 ${Number(book.competition.general_bonus_cap)} 分，计在五项之外`;
    }
    else itemHint.textContent = "";
    rectifyBy.disabled = kind.value !== "deduction";
  }
  function fillStakeRange() {
    const chosen = mySections.find((s) => s.code === section.value);
    if (!chosen) {
      stakeRange.textContent = "";
      slider.disabled = true;
      return;
    }
    const start = chainage.metresOfKm(chosen.start_km);
    const end = chainage.metresOfKm(chosen.end_km);
    Object.assign(slider, { min: start, max: end, disabled: false });
    const typed = chainage.parse(chainage.normalise(stake.value));
    slider.value = typed !== null ? typed : start;
    stakeRange.textContent = `本标段 ${chainage.format(start)} – ${chainage.format(end)}`;
  }
  async function showPeriod() {
    if (!/^\d{4}-\d{2}/.test(observedAt.value)) return;
    const period = observedAt.value.slice(0, 7);  // the input shows the competition's clock
    try {
      const rows = await context.periods(cid);
      const closed = !context.isOpen(rows, period);
      periodNote.hidden = !closed;
      periodNote.textContent = closed ? `${period} 已结账：这条记录会作为“迟到记录”保存，竞赛办重开该月后才计分。` : "";
    } catch (error) {
      periodNote.hidden = true;
    }
  }

  section.addEventListener("change", () => { fillTeams(); fillStakeRange(); });
  kind.addEventListener("change", () => { fillCriteria(); fillItems(); fillFindings(); });
  criterion.addEventListener("change", () => { fillItems(); fillFindings(); });
  item.addEventListener("change", showLimit);
  slider.addEventListener("input", () => { stake.value = chainage.format(Number(slider.value)); });
  stake.addEventListener("change", () => {
    const tidy = chainage.normalise(stake.value);
    stake.value = tidy;
    const metres = chainage.parse(tidy);
    if (metres !== null && !slider.disabled) slider.value = metres;
  });
  observedAt.addEventListener("change", showPeriod);

  // -- photos: made ready (upright, ≤ 2048 px JPEG, id = SHA-256) as soon as they are taken ------------
  let photos = [];
  let preparing = 0;
  function drawThumbs() {
    thumbs.replaceChildren(...photos.map((photo) => h("figure", { class: "thumb" },
      h("img", { src: photo.url, alt: "照片" }),
      h("button", { type: "button", class: "remove", "aria-label": "删除这张照片", onclick: () => {
        URL.revokeObjectURL(photo.url);
        photos = photos.filter((p) => p !== photo);
        drawThumbs();
      } }, "×"))),
    ...(preparing ? [h("p", { class: "hint" }, `正在处理 ${preparing} 张照片…`)] : []));
    submit.disabled = preparing > 0;
  }
  photoInput.addEventListener("change", async () => {
    const files = [...photoInput.files];
    photoInput.value = "";
    const room = MAX_PHOTOS - photos.length;
    if (files.length > room) toast(`每条记录最多 ${MAX_PHOTOS} 张照片，多出的 ${files.length - room} 张没有加入`, "error");
    preparing += Math.min(files.length, room);
    drawThumbs();
    for (const file of files.slice(0, Math.max(0, room))) {
      try {
        const photo = await preparePhoto(file);
        if (!photos.some((p) => p.id === photo.id)) photos.push({ ...photo, url: URL.createObjectURL(photo.blob) });
      } catch (error) {
        toast(error.message, "error");
      }
      preparing -= 1;
      drawThumbs();
    }
  });

  // -- the device's position, when the person allows it (secure contexts only) -----------------------
  let position = null;
  let watch = null;
  function startLocation() {
    if (!useLocation.checked) {
      locationText.textContent = "定位：不附带";
      return;
    }
    if (!("geolocation" in navigator) || !window.isSecureContext) {
      locationText.textContent = "定位：此连接不支持（需 https）";
      return;
    }
    locationText.textContent = "定位：正在获取…";
    watch = navigator.geolocation.watchPosition((fix) => {
      position = { lat: fix.coords.latitude, lon: fix.coords.longitude, accuracy: fix.coords.accuracy, at: Date.now() };
      locationText.textContent = `定位：${position.lat.toFixed(5)}, ${position.lon.toFixed(5)}（±${Math.round(position.accuracy)} 米）`;
    }, (failure) => {
      locationText.textContent = failure.code === 1 ? "定位：未获允许" : "定位：暂时取不到";
    }, { enableHighAccuracy: true, maximumAge: 60000, timeout: 30000 });
  }
  function stopLocation() {
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    watch = null;
  }
  useLocation.addEventListener("change", () => { stopLocation(); position = null; startLocation(); });

  let editing = mode === "edit";

  // -- the form --------------------------------------------------------------------------------------
  const form = h("form", { class: "posting", novalidate: true },
    source && mode === "copy" ? h("p", { class: "notice" }, "根据被退回的记录新建：请改正后提交，原记录留在待发送里，确认后可放弃。") : null,
    source && mode === "edit" ? h("p", { class: "notice" }, "修改尚未发送的记录。保存前不会发送。") : null,
    h("div", { class: "grid" },
      field("标段", section, { name: "section" }),
      field("突击队（可选）", team, { name: "team" }),
      field("类型", kind, { name: "kind" }),
      field("考核项目", criterion, { name: "criterion" }),
      field("考核细则", item, { name: "item", aside: itemHint, wide: true }),
      field("分值", points, { name: "points", inline: QUICK_POINTS.map((p) => chip(p, () => { points.value = p; })) }),
      field("检查时间", observedAt, { name: "observedAt", after: periodNote,
        inline: chip("现在", () => { observedAt.value = localValue(new Date(), tz); showPeriod(); }) }),
      field("桩号（可选）", stake, { name: "chainage", aside: stakeRange, wide: true,
        inline: [chip("−100 m", () => nudge(-100)), slider, chip("+100 m", () => nudge(100))] }),
      field("整改期限（扣分可选）", rectifyBy, { name: "rectifyBy" }),
      h("div", { class: "field f-location" }, h("label", { class: "check" }, useLocation, "附带设备定位"), locationText),
      field("说明", note, { name: "note", wide: true, after: findings }),
      h("div", { class: "field f-photos wide" },
        h("label", { for: "photo-input", class: "button secondary photo-button" }, `拍照 / 选照片（最多 ${MAX_PHOTOS} 张）`),
        photoInput, thumbs,
        h("p", { class: "field-error", hidden: true, "data-error-for": "photos" })),
      summary,
      h("div", { class: "form-actions" },
        mode === "edit" ? h("button", { type: "button", class: "secondary", onclick: cancelEdit }, "取消修改") : null,
        submit)));

  function nudge(metres) {
    if (slider.disabled) return;
    const current = chainage.parse(chainage.normalise(stake.value));
    const base = current !== null ? current : Number(slider.value);
    const next = Math.min(Number(slider.max), Math.max(Number(slider.min), base + metres));
    slider.value = next;
    stake.value = chainage.format(next);
  }
  function addFinding(text) {
    note.value = note.value.trim() ? `${note.value.trim()}；${text}` : text;
    form.classList.add("dirty");
  }
  form.addEventListener("input", () => form.classList.add("dirty"));

  function input() {
    const fresh = position && Date.now() - position.at < LOCATION_FRESH_MS && useLocation.checked;
    return {
      section: section.value, team: team.value, kind: kind.value, criterion: criterion.value, item: item.value,
      points: points.value, observedAt: observedAt.value, note: note.value, chainage: stake.value,
      rectifyBy: rectifyBy.disabled ? "" : rectifyBy.value, photos: photos.map((p) => p.id),
      location: fresh ? position : (source && mode !== "new" && source.body.location) || null,
    };
  }

  function showErrors(errors) {
    for (const node of form.querySelectorAll("[data-error-for]")) {
      const message = errors[node.dataset.errorFor];
      node.textContent = message || "";
      node.hidden = !message;
      node.closest(".field").classList.toggle("invalid", Boolean(message));
    }
    const count = Object.keys(errors).length;
    summary.hidden = !count;
    summary.textContent = count ? `有 ${count} 处需要改正，没有保存：${Object.values(errors).join("；")}` : "";
  }

  function describe(entry) {
    const found = entry.item ? itemOf(book, entry.item) : null;
    const chosenSection = mySections.find((s) => s.code === entry.section);
    const chosenTeam = entry.team ? book.teams.find((t) => t.code === entry.team) : null;
    return {
      section: chosenSection ? `${chosenSection.code} ${chosenSection.name}` : entry.section,
      team: chosenTeam ? chosenTeam.name : "",
      criterion: entry.criterion ? CRITERIA[entry.criterion] || entry.criterion : "通用",
      item: found ? `${found.item.code} ${found.item.name}` : "",
      kind: entry.kind === "deduction" ? "扣" : "加",
      points: entry.points,
      observed: shortTime(new Date(entry.observed_at), tz),
      period: periodOf(new Date(entry.observed_at), tz),
      note: entry.note || "",
      chainage: entry.chainage || "",
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (preparing) return;
    const { errors, entry } = checkPosting(input(), book);
    showErrors(errors);
    if (!entry) {
      toast("没有保存：请按红字改正", "error");
      return;
    }
    const ready = photos.map(({ url, ...photo }) => photo);
    if (mode === "edit") {
      editing = false;
      await outbox.endEdit(source.client_id, { body: { client_id: source.client_id, ...entry }, photos: ready,
                                               summary: describe(entry) });
      toast("已保存修改");
      router.go("outbox");
      return;
    }
    const record = await outbox.enqueue({ body: { client_id: newClientId(), ...entry }, photos: ready,
                                          competition: cid, summary: describe(entry) });
    toast(navigator.onLine === false ? "已保存在本机，联网后自动发送" : "已保存在本机，正在发送…");
    form.dataset.lastClientId = record.client_id;
    reset();
  });

  function reset() {
    // Keep what the next finding on the same stretch most likely shares: section, team, kind, criterion.
    item.value = "";
    points.value = "";
    note.value = "";
    rectifyBy.value = "";
    for (const photo of photos) URL.revokeObjectURL(photo.url);
    photos = [];
    drawThumbs();
    observedAt.value = localValue(new Date(), tz);
    showErrors({});
    showLimit();
    form.classList.remove("dirty");
  }

  async function cancelEdit() {
    editing = false;
    await outbox.endEdit(source.client_id, null);
    router.go("outbox");
  }

  // -- start: a new form, or one filled from a queued or returned posting -----------------------------
  if (mySections.length === 1) section.value = mySections[0].code;
  fillTeams();
  fillCriteria();
  fillItems();
  fillFindings();
  fillStakeRange();
  if (source) {
    const body = source.body;
    section.value = body.section;
    fillTeams();
    team.value = body.team || "";
    kind.value = body.kind;
    fillCriteria();
    criterion.value = body.criterion || "";
    fillItems();
    fillFindings();
    item.value = body.item || "";
    points.value = String(body.points);
    observedAt.value = localValue(new Date(body.observed_at), tz);
    note.value = body.note || "";
    stake.value = body.chainage || "";
    rectifyBy.value = body.rectify_by || "";
    photos = source.photos.filter((p) => p.blob).map((p) => ({ ...p, url: URL.createObjectURL(p.blob) }));
    fillStakeRange();
    showLimit();
    drawThumbs();
  }
  host.replaceChildren(form);
  startLocation();
  showPeriod();

  return () => {
    stopLocation();
    for (const photo of photos) URL.revokeObjectURL(photo.url);
    if (editing) outbox.endEdit(source.client_id, null);  // left without saving: it may be sent again
  };
}
