// Units in settings: sizes such as 4G, 1500M or 512MiB.

/** Parses "1500000000", "1500M", "4G", "4GB", "512MiB" into bytes; NaN when it is none of these. */
export function parseBytes(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (m === null) return Number.NaN;
  const scale: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
  const binary: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  const unit = m[2]!.toLowerCase();
  const factor = m[3]?.toLowerCase() === 'ib' ? binary[unit]! : scale[unit]!;
  return Number(m[1]) * factor;
}
