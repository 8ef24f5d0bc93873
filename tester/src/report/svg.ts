/** One line of a chart: a value per x, null where there is none (the line breaks there). */
export interface ChartLine {
  readonly name: string;
  readonly color: string;
  readonly values: ReadonlyArray<number | null>;
}

export interface ChartSpec {
  readonly title: string;
  readonly xs: readonly number[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: readonly ChartLine[];
  /** A logarithmic y axis (for latencies, whose maxima dwarf the medians). */
  readonly log?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Escapes text for SVG and HTML. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1, 2 or 5 times a power of ten, at least `x`. */
function niceCeil(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function label(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1_000_000) return `${v / 1_000_000}M`;
  if (Math.abs(v) >= 10_000) return `${v / 1000}k`;
  return Number(v.toPrecision(3)).toString();
}

/** A line chart as a self-contained inline SVG element (no scripts, no external resources). */
export function lineChart(spec: ChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 240;
  const m = { left: 64, right: 16, top: 40, bottom: 40 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xs = spec.xs;
  const xMin = xs.length > 0 ? Math.min(...xs) : 0;
  const xMax = xs.length > 1 ? Math.max(...xs) : xMin + 1;
  const all = spec.lines.flatMap((l) => l.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const dataMax = all.length > 0 ? Math.max(...all) : 1;

  let yOf: (v: number) => number;
  let ticks: number[];
  if (spec.log === true) {
    const positive = all.filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(positive.length > 0 ? Math.min(...positive) : 1));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(dataMax, lo * 10)));
    const span = Math.log10(hi) - Math.log10(lo);
    yOf = (v) => m.top + h - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * h;
    ticks = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    const top = niceCeil(dataMax);
    yOf = (v) => m.top + h - (v / top) * h;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  }
  const xOf = (x: number) => m.left + ((x - xMin) / (xMax - xMin || 1)) * w;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<text x="${m.left}" y="16" font-size="13" font-weight="bold">${escapeXml(spec.title)}</text>`);
  for (const t of ticks) {
    const y = yOf(t).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${label(t)}</text>`);
  }
  const xTickCount = Math.min(10, Math.max(1, xs.length - 1));
  for (let i = 0; i <= xTickCount; i++) {
    const x = xMin + ((xMax - xMin) * i) / xTickCount;
    const px = xOf(x).toFixed(1);
    parts.push(`<line x1="${px}" x2="${px}" y1="${m.top + h}" y2="${m.top + h + 4}" stroke="#555"/>`);
    parts.push(`<text x="${px}" y="${m.top + h + 16}" text-anchor="middle" fill="#555">${label(Math.round(x))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${m.top + h}" y2="${m.top + h}" stroke="#555"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + h}" stroke="#555"/>`);
  parts.push(`<text x="${m.left + w / 2}" y="${height - 6}" text-anchor="middle" fill="#333">${escapeXml(spec.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${m.top + h / 2}" text-anchor="middle" fill="#333" transform="rotate(-90 14 ${m.top + h / 2})">${escapeXml(spec.yLabel)}</text>`,
  );
  for (const line of spec.lines) {
    let d = '';
    let pen = false;
    line.values.forEach((v, i) => {
      const x = xs[i];
      if (v === null || x === undefined || !Number.isFinite(v) || (spec.log === true && v <= 0)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${xOf(x).toFixed(1)},${yOf(v).toFixed(1)}`;
      pen = true;
    });
    if (d !== '')
      parts.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.5"><title>${escapeXml(line.name)}</title></path>`);
  }
  let lx = m.left + w;
  for (const line of [...spec.lines].reverse()) {
    const textWidth = line.name.length * 6.5 + 22;
    lx -= textWidth;
    parts.push(`<rect x="${lx.toFixed(1)}" y="24" width="12" height="3" fill="${line.color}"/>`);
    parts.push(`<text x="${(lx + 16).toFixed(1)}" y="29" fill="#333">${escapeXml(line.name)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
