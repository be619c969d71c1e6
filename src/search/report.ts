// report.html: one self-contained page on a search, to open offline: the reward of every trial
// (and the best so far), the winner's per-layer values as bars, and validation accuracy against
// MACs, stored size and (when measured) latency for every trial. Inline SVG drawn here, no script,
// no font, no external file; every string put into the page goes through escapeHtml.
import type { TrialRecord } from "./trial-log.js";

export interface ReportInput {
  title: string;
  /** Settings shown at the top (optimizer, reward, learners, budget). */
  settings: Record<string, string | number>;
  trials: readonly TrialRecord[];
  best: TrialRecord;
  /** The winner's per-layer values. */
  layers: ReadonlyArray<{ layer: string; option: string; value: number | string }>;
  /** The re-trained winner's measurements, when there is one. */
  final?: Record<string, number | undefined>;
}

/** Text made safe for HTML content and quoted attributes. */
export const escapeHtml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

const W = 560;
const H = 300;
const M = { left: 64, right: 16, top: 16, bottom: 44 };

const format = (value: number): string => (Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-2 && value !== 0) ? value.toExponential(2) : Number(value.toPrecision(4)).toString());

/** Axis ticks and a linear map from [low, high] (widened when flat) to pixels. */
function axis(values: readonly number[], from: number, to: number): { map(v: number): number; ticks: number[] } {
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (!(high > low)) [low, high] = [low - (Math.abs(low) || 1) * 0.05, high + (Math.abs(high) || 1) * 0.05];
  return { map: (v) => from + ((v - low) / (high - low)) * (to - from), ticks: [0, 0.25, 0.5, 0.75, 1].map((t) => low + t * (high - low)) };
}

interface Series { points: Array<[number, number]>; color: string; line?: boolean; label: string; titles?: string[] }

/** A scatter (or line) chart of several series, with axes, ticks and labels. */
export function svgChart(series: readonly Series[], xLabel: string, yLabel: string): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<p>no data for ${escapeHtml(yLabel)} against ${escapeHtml(xLabel)}</p>`;
  const x = axis(all.map((p) => p[0]), M.left, W - M.right);
  const y = axis(all.map((p) => p[1]), H - M.bottom, M.top);
  const parts = [
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#444"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#444"/>`,
    ...x.ticks.map((t) => `<text x="${x.map(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${escapeHtml(format(t))}</text>`),
    ...y.ticks.map((t) => `<text x="${M.left - 6}" y="${(y.map(t) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(format(t))}</text>`),
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
    `<text x="14" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(M.top + H - M.bottom) / 2})">${escapeHtml(yLabel)}</text>`,
  ];
  for (const s of series) {
    const pixels = s.points.map(([px, py]) => [x.map(px).toFixed(1), y.map(py).toFixed(1)]);
    if (s.line) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pixels.map((p) => p.join(",")).join(" ")}"/>`);
    else pixels.forEach(([cx, cy], i) => parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"><title>${escapeHtml(s.titles?.[i] ?? s.label)}</title></circle>`));
  }
  const legend = series.map((s, i) => `<text x="${W - M.right - 4}" y="${M.top + 12 + 14 * i}" text-anchor="end" fill="${s.color}">${escapeHtml(s.label)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif">${[...parts, ...legend].join("")}</svg>`;
}

/** Horizontal bars, one per layer. */
export function svgBars(bars: ReadonlyArray<{ label: string; value: number }>, valueLabel: string): string {
  if (bars.length === 0) return "<p>no per-layer values</p>";
  const row = 18;
  const height = M.top + row * bars.length + 30;
  const left = 150;
  const most = Math.max(...bars.map((bar) => bar.value), 1e-12);
  const scale = (v: number) => ((W - left - 60) * Math.max(0, v)) / most;
  const rows = bars.map((bar, i) => {
    const top = M.top + i * row;
    return `<text x="${left - 6}" y="${top + 12}" text-anchor="end">${escapeHtml(bar.label)}</text><rect x="${left}" y="${top + 2}" width="${scale(bar.value).toFixed(1)}" height="${row - 5}" fill="#3a7bd5"/><text x="${(left + scale(bar.value) + 4).toFixed(1)}" y="${top + 12}">${escapeHtml(format(bar.value))}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-size="11" font-family="sans-serif">${rows.join("")}<text x="${left}" y="${height - 8}">${escapeHtml(valueLabel)}</text></svg>`;
}

const table = (rows: ReadonlyArray<[string, string]>): string => `<table>${rows.map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`).join("")}</table>`;

/** The charts of accuracy against a cost, over the trials that measured it. */
function accuracyAgainst(trials: readonly TrialRecord[], cost: (t: TrialRecord) => number | undefined, label: string): string {
  const done = trials.filter((t) => t.metrics !== undefined && cost(t) !== undefined);
  return svgChart([{ points: done.map((t) => [cost(t) as number, t.metrics?.validationAccuracy as number]), color: "#3a7bd5", label: "trial", titles: done.map((t) => `trial ${t.index}`) }], label, "validation accuracy");
}

/** The whole page. */
export function searchReport(input: ReportInput): string {
  const { trials, best } = input;
  const scored = trials.filter((t) => t.score !== undefined);
  let running = -Infinity;
  const bestSoFar = trials.flatMap((t): Array<[number, number]> => (t.score === undefined ? [] : [[t.index, (running = Math.max(running, t.score))]]));
  const failed = trials.filter((t) => t.error !== undefined);
  const numeric = input.layers.filter((layer) => typeof layer.value === "number");
  const sections = [
    `<h1>${escapeHtml(input.title)}</h1>`,
    table([...Object.entries(input.settings).map(([k, v]): [string, string] => [k, String(v)]), ["trials", `${trials.length} (${failed.length} failed)`], ["best trial", `${best.index}, reward ${best.score === undefined ? "n/a" : format(best.score)}`]]),
    `<h2>Reward per trial</h2>`,
    svgChart([{ points: scored.map((t) => [t.index, t.score as number]), color: "#3a7bd5", label: "reward", titles: scored.map((t) => `trial ${t.index}: ${t.score}`) }, { points: bestSoFar, color: "#d5533a", line: true, label: "best so far" }], "trial", "reward"),
    `<h2>The best candidate, per layer</h2>`,
    svgBars(numeric.map((layer) => ({ label: layer.layer, value: layer.value as number })), numeric[0]?.option ?? ""),
    `<h2>Accuracy against cost, all trials</h2>`,
    accuracyAgainst(trials, (t) => t.metrics?.macs, "MACs"),
    accuracyAgainst(trials, (t) => t.metrics?.packedBytes, "packed stored bytes"),
    trials.some((t) => t.metrics?.latencyMs !== undefined) ? accuracyAgainst(trials, (t) => t.metrics?.latencyMs, "latency ms") : "<p>latency was not measured during the search (pass --search-latency)</p>",
    input.final === undefined ? "" : `<h2>The winner, as written (re-trained unless --no-retrain)</h2>${table(Object.entries(input.final).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, format(v as number)]))}`,
    failed.length === 0 ? "" : `<h2>Failed trials</h2><ul>${failed.map((t) => `<li>trial ${t.index}: ${escapeHtml(t.error ?? "")}</li>`).join("")}</ul>`,
  ];
  const style = "body{font-family:sans-serif;max-width:640px;margin:2em auto;color:#222}table{border-collapse:collapse}th,td{text-align:left;padding:2px 10px 2px 0}th{font-weight:normal;color:#666}";
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>${style}</style></head><body>${sections.join("\n")}</body></html>\n`;
}
