// Live metric charts on ApexCharts (served from lib/apexcharts/, restored by the build from npm).
// Raw points stay here; what is drawn is mapped to the chosen x axis, EMA-smoothed and downsampled (chart-math.js).
import { axisTitle, clampAlpha, project } from './chart-math.js';

/** Most points drawn per series; a 100k-step run is bucketed down to this. */
export const MaxRenderedPoints = 2000;

const charts = new Map();
let apexLoading = null;

function loadApexCharts() {
    if (globalThis.ApexCharts) return Promise.resolve(globalThis.ApexCharts);
    apexLoading ??= new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = new URL('../lib/apexcharts/apexcharts.min.js', import.meta.url).href;
        script.onload = () => resolve(globalThis.ApexCharts);
        script.onerror = () => { apexLoading = null; reject(new Error('ApexCharts could not be loaded')); };
        document.head.appendChild(script);
    });
    return apexLoading;
}

function drawnSeries(state) {
    return state.series.map(name => ({
        name: state.labels[name] ?? name,
        data: project(state.raw.get(name), state.axis, state.alpha, MaxRenderedPoints),
    }));
}

function redraw(state) {
    if (state.chart) state.chart.updateSeries(drawnSeries(state), false);
}

/**
 * Creates a chart in `element`. options: { id, title, series: [keys], labels: {key: label}, axis, alpha, yLogarithmic }.
 * Returns the chart id.
 */
export async function create(element, options) {
    const id = options.id;
    destroy(id);
    const state = {
        id,
        series: options.series ?? [],
        labels: options.labels ?? {},
        axis: options.axis ?? 'step',
        alpha: clampAlpha(options.alpha ?? 0),
        raw: new Map((options.series ?? []).map(s => [s, []])),
        chart: null,
    };
    charts.set(id, state);
    const ApexCharts = await loadApexCharts();
    if (charts.get(id) !== state) return id; // destroyed while loading
    state.chart = new ApexCharts(element, {
        chart: {
            id,
            type: 'line',
            height: options.height ?? 280,
            animations: { enabled: false },
            zoom: { enabled: true, type: 'x', autoScaleYaxis: true },
            toolbar: { show: true, tools: { download: true, selection: true, zoom: true, zoomin: true, zoomout: true, pan: true, reset: true } },
        },
        title: { text: options.title ?? '', style: { fontSize: '14px' } },
        stroke: { width: 2, curve: 'straight' },
        markers: { size: 0 },
        dataLabels: { enabled: false },
        legend: { show: true, showForSingleSeries: false },
        noData: { text: 'No points yet' },
        xaxis: { type: 'numeric', title: { text: axisTitle(state.axis) }, labels: { formatter: v => formatNumber(v) } },
        yaxis: { labels: { formatter: v => formatNumber(v) } },
        tooltip: { shared: false, x: { formatter: v => `${axisTitle(state.axis)} ${formatNumber(v)}` } },
        series: drawnSeries(state),
    });
    await state.chart.render();
    redraw(state); // points appended while rendering
    return id;
}

function formatNumber(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '';
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return Number(v.toPrecision(5)).toString();
}

/** Appends raw points: { seriesKey: [[step, epoch, elapsed, y], ...] }. */
export function appendPoints(chartId, points) {
    const state = charts.get(chartId);
    if (!state) return;
    for (const [name, list] of Object.entries(points ?? {})) {
        const raw = state.raw.get(name);
        if (!raw) continue;
        for (const [step, epoch, elapsed, y] of list) raw.push({ step, epoch, elapsed, y: y ?? null });
    }
    redraw(state);
}

/** EMA smoothing factor: 0 = raw … 0.99. */
export function setSmoothing(chartId, alpha) {
    const state = charts.get(chartId);
    if (!state) return;
    state.alpha = clampAlpha(alpha);
    redraw(state);
}

/** The x axis: 'step' | 'epoch' | 'elapsed'. */
export function setXAxis(chartId, axis) {
    const state = charts.get(chartId);
    if (!state) return;
    state.axis = axis;
    if (state.chart) {
        state.chart.updateOptions({ xaxis: { title: { text: axisTitle(axis) } } }, false, false);
    }
    redraw(state);
}

export function destroy(chartId) {
    const state = charts.get(chartId);
    if (!state) return;
    charts.delete(chartId);
    state.chart?.destroy();
}

/** Raw points held for a series (test hook). */
export function pointCount(chartId, series) {
    return charts.get(chartId)?.raw.get(series)?.length ?? 0;
}

/** Points the chart currently draws for a series (test hook). */
export function renderedCount(chartId, series) {
    const state = charts.get(chartId);
    if (!state?.chart) return 0;
    const index = state.series.indexOf(series);
    return state.chart.w?.config?.series?.[index]?.data?.length ?? 0;
}

/** Ids of the charts on the page (test hook). */
export function chartIds() {
    return [...charts.keys()];
}

globalThis.deepxCharts = { pointCount, renderedCount, chartIds };
