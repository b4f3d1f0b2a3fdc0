// The posting form's checks: everything the API would refuse (CONTRACT.md §3 Entries), said in Chinese
// before a posting is queued — a refusal found on the road is better than one found hours later.

import * as chainage from "./chainage.js";
import { MAX_PHOTOS } from "./photos.js";
import { instantOf, isoInZone, knownZone, partsIn } from "./zone.js";

const POINTS = /^\d{1,3}(\.\d{1,2})?$/;
const FUTURE_SLACK_MS = 24 * 3600 * 1000;  // the API's own limit for a tablet clock running fast
export const MAX_NOTE = 4000;
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;

/** The reference data a posting is checked against, from the cached competition, sections and teams. */
export function rulebook(reference, me) {
  const { competition, sections, teams } = reference;
  const mine = me.role === "supervisor" ? new Set(me.sections) : null;
  return {
    competition,
    timeZone: knownZone(competition.timezone),  // a zone this browser lacks: the API's default
    sections: sections.filter((s) => !mine || mine.has(s.code)),
    teams,
    criteria: competition.criteria,
    generalBonus: Number(competition.general_bonus_cap || 0) > 0,
  };
}

export function teamsOf(book, sectionCode) {
  return book.teams.filter((t) => t.section === sectionCode && t.active !== false);
}

export function itemOf(book, code) {
  for (const criterion of book.criteria) {
    const item = criterion.items.find((i) => i.code === code);
    if (item) return { criterion, item };
  }
  return null;
}

/**
 * Check what the form holds. Returns {errors: {field: 中文}, entry} — entry is the API body without
 * client_id, or null while there are errors.
 */
export function checkPosting(input, book, now = new Date()) {
  const errors = {};
  const section = book.sections.find((s) => s.code === input.section);
  if (!section) errors.section = "请选择您负责的标段";

  let team = null;
  if (input.team) {
    team = book.teams.find((t) => t.code === input.team);
    if (!team || (section && team.section !== section.code)) errors.team = "该突击队不属于所选标段";
    else if (team.active === false) errors.team = "该突击队已撤销，不能再记分";
  }

  if (input.kind !== "deduction" && input.kind !== "bonus") errors.kind = "请选择扣分或加分";
  const criterion = book.criteria.find((c) => c.code === input.criterion) || null;
  if (!criterion && !(input.kind === "bonus" && !input.criterion && book.generalBonus)) {
    errors.criterion = "请选择考核项目";
  }

  let item = null;
  if (input.item) {
    item = criterion ? criterion.items.find((i) => i.code === input.item) : null;
    if (!item) errors.item = "该细则不属于所选考核项目";
  } else if (input.kind === "deduction") {
    errors.item = "扣分必须选择考核细则";
  }

  const pointsText = String(input.points ?? "").trim();
  let points = null;
  if (!pointsText) errors.points = "请填写分值";
  else if (!POINTS.test(pointsText)) errors.points = "分值应为数字，最多两位小数，如 1.5";
  else {
    points = Number(pointsText);
    if (points > 100) errors.points = "分值不能超过 100";
    else if (input.kind === "deduction" && item && points > Number(item.max_points)) {
      errors.points = `单次扣分不能超过该细则满分 ${Number(item.max_points)} 分`;
    }
  }

  const observed = instantOf(input.observedAt, book.timeZone);
  if (!observed) errors.observedAt = "请填写检查时间";
  else if (observed.getTime() > now.getTime() + FUTURE_SLACK_MS) errors.observedAt = "检查时间不能晚于现在";
  else {
    const year = partsIn(observed, book.timeZone).year;
    if (year < 2000 || year >= 2100) errors.observedAt = "检查时间的年份不对";
  }

  const note = (input.note || "").trim();
  if (note.length > MAX_NOTE) errors.note = `说明最多 ${MAX_NOTE} 字（现在 ${note.length} 字）`;
  else if (UNSTORABLE.test(note)) errors.note = "说明里有无法保存的字符";

  let stake = null;
  if (input.chainage && input.chainage.trim()) {
    stake = chainage.normalise(input.chainage);
    const metres = chainage.parse(stake);
    if (metres === null) errors.chainage = "桩号格式应为 K23+450（公里 + 三位米数）";
    else if (section && (metres < chainage.metresOfKm(section.start_km) || metres > chainage.metresOfKm(section.end_km))) {
      errors.chainage = `桩号不在本标段范围 ${chainage.format(chainage.metresOfKm(section.start_km))}` +
        `–${chainage.format(chainage.metresOfKm(section.end_km))} 内`;
    }
  }

  let rectifyBy = null;
  if (input.rectifyBy) {
    rectifyBy = input.rectifyBy;
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(rectifyBy);
    if (input.kind !== "deduction") errors.rectifyBy = "只有扣分才设整改期限";
    else if (!m) errors.rectifyBy = "请选择整改期限的日期";
    else if (observed) {
      const p = partsIn(observed, book.timeZone);
      const day = `${String(p.year).padStart(4, "0")}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
      if (rectifyBy < day) errors.rectifyBy = "整改期限不能早于检查日期";
    }
  }

  const photos = input.photos || [];
  if (photos.length > MAX_PHOTOS) errors.photos = `最多 ${MAX_PHOTOS} 张照片`;

  if (Object.keys(errors).length) return { errors, entry: null };
  const entry = {
    section: section.code,
    team: team ? team.code : null,
    ...(criterion ? { criterion: criterion.code } : {}),
    item: item ? item.code : null,
    kind: input.kind,
    points,
    observed_at: isoInZone(observed, book.timeZone),
    note: note || null,
    location: input.location ? { lat: round6(input.location.lat), lon: round6(input.location.lon) } : null,
  };
  // Optional fields go out only when filled, so a posting without them suits any version of the API.
  if (stake) entry.chainage = stake;
  if (photos.length) entry.photos = photos;
  if (rectifyBy) entry.rectify_by = rectifyBy;
  return { errors, entry };
}

const round6 = (x) => Math.round(Number(x) * 1e6) / 1e6;
