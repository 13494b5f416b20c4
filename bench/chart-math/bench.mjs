// Chart downsampling benchmark: node bench/chart-math/bench.mjs [--quick]
//
// Times the chart math of DeepExtension.Web/wwwroot/js/chart-math.js on long synthetic histories (100k and 1M
// points), and the path charts.js runs per update (appendPoints -> redraw -> project() of the whole series) with
// ApexCharts replaced by a stub that only records what it would be asked to draw. ApexCharts' own drawing (SVG of
// at most 2,000 points per series), Blazor/SignalR transport and the browser are NOT measured here.
// Prints a Markdown table (median / min / max ms over the repetitions) and the drawn point counts.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ema, downsample, project } from '../../DeepExtension.Web/wwwroot/js/chart-math.js';

const quick = process.argv.includes('--quick');
const loadBefore = os.loadavg();
const started = new Date();
const MaxRenderedPoints = 2000; // charts.js' MaxRenderedPoints (checked against the module below)

// ---------------------------------------------------------------- ApexCharts stub (records what it is given)
const drawn = { lastLengths: [] };
class ApexChartsStub {
    constructor(element, options) { this.options = options; this.w = { config: { series: options.series }, globals: {} }; }
    async render() { drawn.lastLengths = this.options.series.map(s => s.data.length); }
    async updateSeries(series) { this.w.config.series = series; drawn.lastLengths = series.map(s => s.data.length); }
    updateOptions() { return Promise.resolve(); }
    zoomX() { }
    destroy() { }
}
globalThis.ApexCharts = ApexChartsStub;
const charts = await import('../../DeepExtension.Web/wwwroot/js/charts.js');
if (charts.MaxRenderedPoints !== MaxRenderedPoints) throw new Error(`charts.js draws ${charts.MaxRenderedPoints} points, the bench assumes ${MaxRenderedPoints}`);

// ---------------------------------------------------------------- synthetic history
// A loss curve: decaying with noise, a spike every 5,000 steps, a NaN gap (diverged value) every 20,000 steps.
function lcg(seed) {
    let s = seed >>> 0;
    return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
/** Rows as MetricChart sends them to appendPoints: [step, epoch, elapsed, y]. */
function rows(from, count, seed = 1) {
    const rnd = lcg(seed + from);
    const out = new Array(count);
    for (let k = 0; k < count; k++) {
        const i = from + k;
        let y = 2.5 * Math.exp(-i / 30000) + 0.3 + 0.1 * (rnd() - 0.5);
        if (i % 5000 === 4999) y += 3;
        out[k] = [i + 1, (i + 1) / 10000, (i + 1) * 0.42, i % 20000 === 19999 ? null : y];
    }
    return out;
}
/** Raw points as charts.js keeps them: { step, epoch, elapsed, y }. */
const rawOf = list => list.map(([step, epoch, elapsed, y]) => ({ step, epoch, elapsed, y: y ?? null }));

// ---------------------------------------------------------------- timing
const median = xs => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
async function time(reps, fn, setup) {
    const warmup = Math.max(2, Math.ceil(reps / 5));
    const samples = [];
    let result;
    for (let r = 0; r < warmup + reps; r++) {
        const input = setup ? await setup(r) : undefined;
        const t0 = performance.now();
        result = await fn(input);
        const t1 = performance.now();
        if (r >= warmup) samples.push(t1 - t0);
    }
    return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), reps, result };
}

const results = [];
function record(name, n, t, drawnPoints) {
    results.push({ name, n, ...t, drawnPoints });
    const f = x => x.toFixed(x < 10 ? 2 : 1);
    process.stderr.write(`${name} n=${n}: median ${f(t.median)} ms (min ${f(t.min)}, max ${f(t.max)}, ${t.reps} reps) drawn=${drawnPoints ?? ''}\n`);
}

const sizes = quick ? [100_000] : [100_000, 1_000_000];
const repsFor = n => (quick ? 5 : n >= 1_000_000 ? 9 : 31);
let chartNo = 0;

for (const n of sizes) {
    const reps = repsFor(n);
    const history = rows(0, n);
    const raw = rawOf(history);

    // chart-math functions alone
    const ys = raw.map(p => p.y);
    record('ema (alpha 0.9)', n, await time(reps, () => ema(ys, 0.9)));
    const pts = raw.map(p => [p.step, p.y]);
    let t = await time(reps, () => downsample(pts, MaxRenderedPoints));
    record('downsample to 2,000', n, t, t.result.length);
    t = await time(reps, () => project(raw, 'step', 0, MaxRenderedPoints));
    record('project (raw, alpha 0)', n, t, t.result.length);
    t = await time(reps, () => project(raw, 'step', 0.9, MaxRenderedPoints));
    record('project (EMA 0.9)', n, t, t.result.length);
    t = await time(reps, () => project(raw, 'elapsed', 0.9, MaxRenderedPoints));
    record('project (EMA 0.9, x = elapsed)', n, t, t.result.length);

    // charts.js: a chart opened on a run with n logged steps (create, then the whole history in one appendPoints)
    t = await time(reps, async () => {
        const id = `bench-${chartNo++}`;
        await charts.create({}, { id, series: [{ key: 'loss' }], alpha: 0.9 });
        await charts.appendPoints(id, { loss: history });
        const lengths = drawn.lastLengths;
        charts.destroy(id);
        return lengths[0];
    });
    record('charts.js open: create + appendPoints(history)', n, t, t.result);

    // charts.js: live appends on top of the history (each append re-projects the whole series)
    const liveId = `bench-live-${n}`;
    await charts.create({}, { id: liveId, series: [{ key: 'loss' }], alpha: 0.9 });
    await charts.appendPoints(liveId, { loss: history });
    let next = n;
    for (const batch of [1, 100]) {
        t = await time(reps, async batchRows => { await charts.appendPoints(liveId, { loss: batchRows }); return drawn.lastLengths[0]; },
            () => { const b = rows(next, batch); next += batch; return b; });
        record(`charts.js live append of ${batch} point${batch > 1 ? 's' : ''}`, n, t, t.result);
    }
    t = await time(reps, async () => { await charts.setSmoothing(liveId, 0.95); return drawn.lastLengths[0]; });
    record('charts.js setSmoothing (redraw)', n, t, t.result);
    charts.destroy(liveId);

    // Compare page: one chart with 4 runs of n points each, one live point of one run
    if (n === 100_000) {
        const cmpId = 'bench-compare';
        const keys = ['a', 'b', 'c', 'd'];
        await charts.create({}, { id: cmpId, series: keys.map(key => ({ key })), alpha: 0.9 });
        for (const key of keys) await charts.appendPoints(cmpId, { [key]: history });
        t = await time(reps, async batchRows => { await charts.appendPoints(cmpId, { a: batchRows }); return drawn.lastLengths.join('+'); },
            () => { const b = rows(next, 1); next += 1; return b; });
        record('charts.js Compare, 4 series: live append of 1 point', n, t, t.result);
        charts.destroy(cmpId);
    }
}

// What the first appendPoints call carries (JSON as Blazor sends it), for scale
const payloadBytes = Buffer.byteLength(JSON.stringify({ loss: rows(0, 100_000) }));

const cpu = os.cpus()[0]?.model ?? 'unknown';
console.log(`# chart-math benchmark`);
console.log('');
console.log(`- date: ${started.toISOString()} (start) – ${new Date().toISOString()} (end)`);
console.log(`- node ${process.version}, V8 ${process.versions.v8}, ${os.platform()} ${os.release()}`);
console.log(`- CPU: ${cpu}, ${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
console.log(`- load average (1/5/15 min) before: ${loadBefore.map(x => x.toFixed(2)).join(' / ')}, after: ${os.loadavg().map(x => x.toFixed(2)).join(' / ')} (other work on the machine shares its cores)`);
console.log(`- one appendPoints payload of 100k rows (one series, JSON): ${(payloadBytes / 2 ** 20).toFixed(1)} MiB`);
console.log('');
console.log('| operation | points in series | median ms | min ms | max ms | reps | drawn points |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of results) {
    const f = x => x.toFixed(x < 10 ? 2 : 1);
    console.log(`| ${r.name} | ${r.n.toLocaleString('en-US')} | ${f(r.median)} | ${f(r.min)} | ${f(r.max)} | ${r.reps} | ${r.drawnPoints ?? '—'} |`);
}
