// Live metric charts on ApexCharts (served from lib/apexcharts/, restored by the build from npm).
// Raw points stay here; what is drawn is mapped to the chosen x axis, EMA-smoothed (incrementally, as points arrive)
// and downsampled (chart-math.js).
// A chart has named series, each with its own key (a metric of one run on the Compare page) and optional colour.
import { axisTitle, clampAlpha, colorsOf, downsample, nextZoom, SeriesProjection, themeOptions, zoomToRestore } from './chart-math.js';

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
    return state.series.map(s => ({
        name: s.name ?? s.key,
        data: downsample(state.projections.get(s.key).points, MaxRenderedPoints),
    }));
}

/** Projects every series again from its raw points (after the axis or the smoothing changed). */
function reproject(state) {
    state.projections = new Map(state.series.map(s => [s.key, new SeriesProjection(state.axis, state.alpha).push(state.raw.get(s.key))]));
}

/**
 * Redraws with the current points. updateSeries returns ApexCharts to the full x range, so the user's window (zoom)
 * is put back afterwards; updates of one chart run one after another so a window is never restored out of order.
 */
function redraw(state) {
    // Appends arriving while a draw is queued ride along with it: one draw, however many appends.
    if (state.redrawQueued) return state.drawing;
    state.redrawQueued = true;
    state.drawing = state.drawing.then(async () => {
        state.redrawQueued = false;
        if (!state.chart) return;
        const window = zoomToRestore(state.zoom, state.axis);
        await state.chart.updateSeries(drawnSeries(state), false);
        if (window) state.chart.zoomX(window.min, window.max);
    }).catch(error => console.error('chart update failed', error));
    return state.drawing;
}

/**
 * Creates a chart in `element`. options: { id, title, series: [{ key, name, color }], axis, alpha, dark }.
 * Returns the chart id.
 */
export async function create(element, options) {
    const id = options.id;
    destroy(id);
    const series = (options.series ?? []).filter(s => s && typeof s.key === 'string');
    const state = {
        id,
        series,
        axis: options.axis ?? 'step',
        alpha: clampAlpha(options.alpha ?? 0),
        dark: !!options.dark,
        raw: new Map(series.map(s => [s.key, []])),
        projections: null,
        redrawQueued: false,
        zoom: null,
        drawing: Promise.resolve(),
        chart: null,
    };
    reproject(state);
    charts.set(id, state);
    const ApexCharts = await loadApexCharts();
    if (charts.get(id) !== state) return id; // destroyed while loading
    const theme = themeOptions(state.dark);
    state.chart = new ApexCharts(element, {
        chart: {
            id,
            type: 'line',
            height: options.height ?? 280,
            animations: { enabled: false },
            zoom: { enabled: true, type: 'x', autoScaleYaxis: true },
            toolbar: { show: true, tools: { download: true, selection: true, zoom: true, zoomin: true, zoomout: true, pan: true, reset: true } },
            ...theme.chart,
            events: {
                zoomed: (_, { xaxis }) => { state.zoom = nextZoom(state.zoom, { type: 'zoomed', axis: state.axis, min: xaxis?.min, max: xaxis?.max }); },
                scrolled: (_, { xaxis }) => { state.zoom = nextZoom(state.zoom, { type: 'zoomed', axis: state.axis, min: xaxis?.min, max: xaxis?.max }); },
                beforeResetZoom: () => { state.zoom = nextZoom(state.zoom, { type: 'reset' }); return undefined; },
            },
        },
        theme: theme.theme,
        grid: theme.grid,
        colors: colorsOf(series),
        title: { text: options.title ?? '', style: { fontSize: '14px' } },
        stroke: { width: 2, curve: 'straight' },
        markers: { size: 0 },
        dataLabels: { enabled: false },
        legend: { show: true, showForSingleSeries: false },
        noData: { text: 'No points yet' },
        xaxis: { type: 'numeric', title: { text: axisTitle(state.axis) }, labels: { formatter: v => formatNumber(v) } },
        yaxis: { labels: { formatter: v => formatNumber(v) } },
        tooltip: { shared: false, theme: theme.tooltip.theme, x: { formatter: v => `${axisTitle(state.axis)} ${formatNumber(v)}` } },
        series: drawnSeries(state),
    });
    await state.chart.render();
    await redraw(state); // points appended while rendering
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
    for (const [key, list] of Object.entries(points ?? {})) {
        const raw = state.raw.get(key);
        if (!raw) continue;
        const added = list.map(([step, epoch, elapsed, y]) => ({ step, epoch, elapsed, y: y ?? null }));
        for (const point of added) raw.push(point);
        state.projections.get(key).push(added);
    }
    state.zoom = nextZoom(state.zoom, { type: 'append' });
    return redraw(state);
}

/** EMA smoothing factor: 0 = raw … 0.99. */
export function setSmoothing(chartId, alpha) {
    const state = charts.get(chartId);
    if (!state) return;
    state.alpha = clampAlpha(alpha);
    reproject(state);
    return redraw(state);
}

/** The x axis: 'step' | 'epoch' | 'elapsed'. */
export function setXAxis(chartId, axis) {
    const state = charts.get(chartId);
    if (!state) return;
    state.axis = axis;
    reproject(state);
    state.zoom = nextZoom(state.zoom, { type: 'axis', axis });
    if (state.chart) {
        state.chart.updateOptions({ xaxis: { title: { text: axisTitle(axis) } } }, false, false);
    }
    return redraw(state);
}

/** Light or dark chart colours (axis text, grid, tooltip), following the console's theme toggle. */
export function setTheme(chartId, dark) {
    const state = charts.get(chartId);
    if (!state) return;
    state.dark = !!dark;
    state.drawing = state.drawing.then(async () => {
        if (!state.chart) return;
        const theme = themeOptions(state.dark);
        await state.chart.updateOptions({ theme: theme.theme, chart: theme.chart, grid: theme.grid, tooltip: theme.tooltip }, false, false);
        const window = zoomToRestore(state.zoom, state.axis);
        if (window) state.chart.zoomX(window.min, window.max);
    }).catch(error => console.error('chart theme update failed', error));
    return state.drawing;
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
    const index = state.series.findIndex(s => s.key === series);
    return state.chart.w?.config?.series?.[index]?.data?.length ?? 0;
}

/** What ApexCharts draws (test hook): series names and colours, theme mode, and the x range shown. */
export function describe(chartId) {
    const chart = charts.get(chartId)?.chart;
    if (!chart) return null;
    const w = chart.w;
    return {
        series: (w.config.series ?? []).map(s => s.name),
        colors: [...(w.globals.colors ?? [])].slice(0, (w.config.series ?? []).length),
        mode: w.config.theme?.mode ?? 'light',
        minX: w.globals.minX,
        maxX: w.globals.maxX,
        zoomed: !!w.interact?.zoomed,
    };
}

/** Ids of the charts on the page (test hook). */
export function chartIds() {
    return [...charts.keys()];
}

globalThis.deepxCharts = { pointCount, renderedCount, describe, chartIds };
