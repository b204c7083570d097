// Wall-clock time at a site ↔ UTC, with the site's zone passed in (DST included), by Intl alone.

function parts(utcMs: number, zone: string): Record<string, number> {
  const formatted = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(utcMs));
  return Object.fromEntries(formatted.filter((p) => p.type !== "literal").map((p) => [p.type, Number(p.value)]));
}

/** How far the zone's clock is ahead of UTC at that moment, in ms. */
export function zoneOffsetMs(utcMs: number, zone: string): number {
  const p = parts(utcMs, zone);
  const asIfUtc = Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  return asIfUtc - Math.floor(utcMs / 1000) * 1000;
}

/** "2026-12-01T14:30" (or "2026-12-01") read on the site's clocks → the UTC moment, in ms. */
export function siteTimeToUtc(local: string, zone: string): number {
  const [date = "", time = "00:00:00"] = local.split("T");
  const [year = 0, month = 1, day = 1] = date.split("-").map(Number);
  const [hour = 0, minute = 0, second = 0] = time.split(":").map(Number);
  const asIfUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const first = asIfUtc - zoneOffsetMs(asIfUtc, zone);
  return asIfUtc - zoneOffsetMs(first, zone); // once more: the offset at the answer, not at the guess
}

/** The UTC moment as the site's clocks show it, "2026-12-01T14:30:05" (what a datetime-local input holds). */
export function utcToSiteTime(utcMs: number, zone: string): string {
  const p = parts(utcMs, zone);
  const pad = (value: number | undefined) => String(value ?? 0).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
}

/** The site's calendar day holding the moment, and that day's span in UTC. */
export function siteDay(utcMs: number, zone: string): { day: string; from: number; to: number } {
  const day = utcToSiteTime(utcMs, zone).slice(0, 10);
  const from = siteTimeToUtc(day, zone);
  const next = new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)) + 1));
  return { day, from, to: siteTimeToUtc(next.toISOString().slice(0, 10), zone) };
}

/** One hour of a site's day (0 to 23, as its clocks show them), in UTC. */
export function siteHour(day: string, hour: number, zone: string): { from: number; to: number } {
  const at = (h: number) => siteTimeToUtc(`${day}T${String(h).padStart(2, "0")}:00:00`, zone);
  return { from: at(hour), to: hour === 23 ? siteDay(at(hour), zone).to : at(hour + 1) };
}
