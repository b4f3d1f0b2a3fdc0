// Times on the competition's clock (CONTRACT.md §2: periods are months in the competition's time zone).
// The tablet's own zone does not matter: a supervisor reads the site's clock and the form speaks it.

const formats = new Map();

function format(timeZone) {
  if (!formats.has(timeZone)) {
    formats.set(timeZone, new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }));
  }
  return formats.get(timeZone);
}

/** {year, month, day, hour, minute, second} of an instant on that zone's clock. */
export function partsIn(date, timeZone) {
  const parts = {};
  for (const { type, value } of format(timeZone).formatToParts(date)) {
    if (type !== "literal") parts[type] = Number(value);
  }
  return parts;
}

/** The zone's offset from UTC at an instant, in minutes (Asia/Shanghai: 480). */
export function offsetMinutes(date, timeZone) {
  const p = partsIn(date, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/** "2026-11-20T10:15" — the value of a datetime-local input showing that instant on the zone's clock. */
export function localValue(date, timeZone) {
  const p = partsIn(date, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** The instant a datetime-local value names on the zone's clock, or null when it is not one. */
export function instantOf(value, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((part) => Number(part || 0));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(wall).getUTCDate() !== day) return null;  // 2月30日
  let instant = wall - offsetMinutes(new Date(wall), timeZone) * 60000;
  instant = wall - offsetMinutes(new Date(instant), timeZone) * 60000;  // across a DST change
  return new Date(instant);
}

/** ISO 8601 with the zone's offset, as the API wants it: "2026-11-20T10:15:00+08:00". */
export function isoInZone(date, timeZone) {
  const p = partsIn(date, timeZone);
  const offset = offsetMinutes(date, timeZone);
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The month ("2026-11") an instant falls in on the zone's calendar. */
export function periodOf(date, timeZone) {
  const p = partsIn(date, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}`;
}

/** The month before a "YYYY-MM". */
export function previousPeriod(period) {
  const [year, month] = period.split("-").map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${pad(month - 1)}`;
}

export function periodLabel(period) {
  const [year, month] = period.split("-").map(Number);
  return `${year}年${month}月`;
}

/** "11月20日 10:15" on the zone's clock. */
export function shortTime(date, timeZone) {
  const p = partsIn(date, timeZone);
  return `${p.month}月${p.day}日 ${pad(p.hour)}:${pad(p.minute)}`;
}

/** A zone name the browser knows, or the default (the API's default zone). */
export function knownZone(timeZone) {
  try {
    format(timeZone);
    return timeZone;
  } catch (error) {
    return "Asia/Shanghai";
  }
}
