// Chainage (桩号): the stake on the road, "K23+450" = 23 km 450 m from the start of the route.

const PATTERN = /^K(\d{1,4})\+(\d{3})$/;

/** Tidy what was typed: "k23+450", "K23＋450", " K 23 + 450 " → "K23+450" (not yet checked). */
export function normalise(text) {
  return (text || "").replace(/\s+/g, "").replace(/＋/g, "+").replace(/^k/, "K");
}

/** Metres from the start, or null when it is not of the form K<km>+<3-digit metres>. */
export function parse(text) {
  const m = PATTERN.exec(text);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : null;
}

export function format(metres) {
  const m = Math.max(0, Math.round(metres));
  return `K${Math.floor(m / 1000)}+${String(m % 1000).padStart(3, "0")}`;
}

/** A section's km (a number, e.g. 23.45) in metres. */
export const metresOfKm = (km) => Math.round(Number(km) * 1000);
