// Parses a decimal number straight from UTF-8 bytes, correctly rounded, without making a string.

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

const SPACE = 32;
const TAB = 9;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * The number in src[start..end), or NaN unless the bytes are a plain decimal: optional sign,
 * digits with an optional point, optional exponent, optional spaces/tabs around. Stricter than
 * Number(), which reads "" as 0 and "0x1f" as 31, and accepts "Infinity". Overflow gives ±Infinity,
 * which the caller must reject if it wants finite values.
 *
 * With at most 15 significant digits and a power of ten up to 1e22, mantissa and power are both
 * exact doubles, so one multiply or divide is correctly rounded (Clinger's fast path) and the result
 * equals Number(text); everything else falls back to Number() on the text.
 */
export function parseDecimal(src: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && (src[i] === SPACE || src[i] === TAB)) i++;
  let e = end;
  while (e > i && (src[e - 1] === SPACE || src[e - 1] === TAB)) e--;
  const first = i;
  let negative = false;
  if (i < e && (src[i] === PLUS || src[i] === MINUS)) {
    negative = src[i] === MINUS;
    i++;
  }
  let mantissa = 0;
  let digits = 0; // significant digits kept in mantissa (leading zeros do not count)
  let seen = 0; // all digits, to reject "." and "+"
  let scale = 0;
  for (; i < e; i++) {
    const d = src[i] - ZERO;
    if (d < 0 || d > 9) break;
    seen++;
    if (mantissa !== 0 || d !== 0) {
      mantissa = mantissa * 10 + d;
      digits++;
    }
  }
  if (i < e && src[i] === DOT) {
    for (i++; i < e; i++) {
      const d = src[i] - ZERO;
      if (d < 0 || d > 9) break;
      seen++;
      if (mantissa !== 0 || d !== 0) {
        mantissa = mantissa * 10 + d;
        digits++;
      }
      scale--;
    }
  }
  if (seen === 0) return NaN;
  if (i < e && (src[i] | 0x20) === 0x65 /* e or E */) {
    i++;
    let expNegative = false;
    if (i < e && (src[i] === PLUS || src[i] === MINUS)) {
      expNegative = src[i] === MINUS;
      i++;
    }
    let exp = 0;
    let expDigits = 0;
    for (; i < e; i++) {
      const c = src[i];
      if (c < ZERO || c > NINE) break;
      // Saturate: beyond this the value is 0 or Infinity anyway, and the slow path decides which.
      if (exp < 100000) exp = exp * 10 + (c - ZERO);
      expDigits++;
    }
    if (expDigits === 0) return NaN;
    scale += expNegative ? -exp : exp;
  }
  if (i !== e) return NaN;
  if (digits <= 15 && scale >= -22 && scale <= 22) {
    const magnitude = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    return negative ? -magnitude : magnitude;
  }
  if (mantissa === 0) return negative ? -0 : 0;
  return Number(latin1(src, first, e));
}

/** The syntax is already checked to be ASCII, so a byte-per-char string is exact. */
function latin1(src: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(src[i]);
  return text;
}
