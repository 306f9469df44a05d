/**
 * ISO 8601 / RFC 3339 UTC times rendered fast enough for every HTTP response: the last second rendered is kept
 * (up to and including its "."), since V8 formats a Date through snprintf (~7–8k instructions) and a busy service
 * answers thousands a second within one; the fraction after it is integer work.
 */
export function isoRenderer(digits: 3 | 6): (units: number) => string {
  const perSecond = digits === 3 ? 1_000 : 1_000_000;
  let second = Number.NaN;
  let prefix = "";
  return (t) => {
    const units = Math.floor(t); // a fraction below the last digit is truncated, as Date does
    const s = Math.floor(units / perSecond);
    if (s !== second) {
      const iso = new Date(s * 1000).toISOString();
      prefix = iso.slice(0, iso.length - 4); // without "000Z"
      second = s;
    }
    return `${prefix}${String(units - s * perSecond).padStart(digits, "0")}Z`;
  };
}
