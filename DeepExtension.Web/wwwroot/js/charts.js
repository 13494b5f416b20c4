// Live metric charts on ApexCharts (served from lib/apexcharts/, restored by the build from npm).
// The server owns the data: it maps each series to the x axis, smooths it and reduces it to a few thousand points
// (DeepExtension.Core MetricSeries), and sends what to draw through setData. A zoom asks the server for the window at
// full resolution (the component's ZoomAsync); the reset asks for the whole series again.
// A chart whose series have no point shows its empty state instead of an ApexCharts chart; a series without points has
// no line and no legend entry.
import { axisTitle, colorsOf, flatRange, formatNumber, isWholeStep, nextZoom, stepTickAmount, themeOptions, zoomToRestore } from './chart-math.js';

/** ApexCharts' default palette: a series without its own colour takes the one of its position among all series. */
const Palette = ['#008FFB', '#00E396', '#FEB019', '#FF4560', '#775DD0', '#3F51B5', '#546E7A', '#D4526E'];

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

/** The series that have points, with their colours (fixed per series, whichever others are present). */
function presentSeries(state) {
    return state.series
        .map((s, i) => ({ ...s, color: s.color ?? Palette[i % Palette.length], data: state.data?.[s.key]?.points ?? [] }))
        .filter(s => s.data.length > 0);
}

/** x-axis options: steps are whole numbers (no tick between two steps, no "2.5"). */
function xaxisOptions(state, present) {
    const xs = present.flatMap(s => s.data.length ? [s.data[0][0], s.data[s.data.length - 1][0]] : []);
    const step = state.axis === 'step';
    return {
        type: 'numeric',
        title: { text: axisTitle(state.axis) },
        tickAmount: step ? stepTickAmount(Math.min(...xs), Math.max(...xs)) : undefined,
        decimalsInFloat: step ? 0 : undefined,
        labels: { formatter: v => step ? (isWholeStep(v) ? String(Math.round(v)) : '') : formatNumber(v) },
    };
}

/** y-axis options: ApexCharts' own scale, except for a flat line (see flatRange). */
function yaxisOptions(present) {
    const range = flatRange(present.flatMap(s => s.data.map(p => p[1])));
    return { labels: { formatter: v => formatNumber(v) }, min: range?.min, max: range?.max };
}

function showEmpty(state) {
    state.chart?.destroy();
    state.chart = null;
    state.drawnKeys = '';
    state.element.replaceChildren();
    const empty = document.createElement('div');
    empty.className = 'de-chart-empty';
    empty.dataset.testid = 'chart-empty';
    const title = document.createElement('div');
    title.className = 'de-chart-empty-title';
    title.textContent = state.title;
    const text = document.createElement('div');
    text.textContent = 'No points yet';
    empty.append(title, text);
    state.element.appendChild(empty);
}

async function build(state, present) {
    const ApexCharts = await loadApexCharts();
    state.chart?.destroy();
    state.element.replaceChildren();
    const theme = themeOptions(state.dark);
    state.chart = new ApexCharts(state.element, {
        chart: {
            id: state.id,
            type: 'line',
            height: 280,
            animations: { enabled: false },
            zoom: { enabled: true, type: 'x', autoScaleYaxis: true },
            toolbar: { show: true, tools: { download: true, selection: true, zoom: true, zoomin: true, zoomout: true, pan: true, reset: true } },
            ...theme.chart,
            events: {
                zoomed: (_, { xaxis }) => zoomed(state, { type: 'zoomed', axis: state.axis, min: xaxis?.min, max: xaxis?.max }),
                scrolled: (_, { xaxis }) => zoomed(state, { type: 'zoomed', axis: state.axis, min: xaxis?.min, max: xaxis?.max }),
                beforeResetZoom: () => { zoomed(state, { type: 'reset' }); return undefined; },
            },
        },
        theme: theme.theme,
        grid: theme.grid,
        colors: colorsOf(present),
        title: { text: state.title, style: { fontSize: '14px' } },
        stroke: { width: 2, curve: 'straight' },
        markers: { size: 0 },
        dataLabels: { enabled: false },
        legend: { show: true, showForSingleSeries: false },
        xaxis: xaxisOptions(state, present),
        yaxis: yaxisOptions(present),
        tooltip: { shared: false, theme: theme.tooltip.theme, x: { formatter: v => `${axisTitle(state.axis)} ${formatNumber(v)}` } },
        series: present.map(s => ({ name: s.name ?? s.key, data: s.data })),
    });
    state.drawnKeys = present.map(s => s.key).join('\n');
    await state.chart.render();
    state.timings.drawn ??= performance.now();
}

/** Draws the latest data; draws of one chart run one after another so a window is never restored out of order. */
function redraw(state) {
    if (state.redrawQueued) return state.drawing;
    state.redrawQueued = true;
    state.drawing = state.drawing.then(async () => {
        state.redrawQueued = false;
        if (!charts.has(state.id)) return;
        const present = presentSeries(state);
        if (present.length === 0) {
            showEmpty(state);
            return;
        }
        if (!state.chart || state.drawnKeys !== present.map(s => s.key).join('\n')) {
            await build(state, present);
        } else {
            await state.chart.updateOptions({ xaxis: xaxisOptions(state, present), yaxis: yaxisOptions(present) }, false, false);
            await state.chart.updateSeries(present.map(s => ({ name: s.name ?? s.key, data: s.data })), false);
        }
        const window = zoomToRestore(state.zoom, state.axis);
        if (window) {
            state.restoring = true;
            try { state.chart.zoomX(window.min, window.max); } finally { state.restoring = false; }
        }
    }).catch(error => console.error('chart update failed', error));
    return state.drawing;
}

/** The user zoomed, panned or reset: the server is asked for the window's points (debounced while dragging). */
function zoomed(state, event) {
    if (state.restoring) return;
    state.zoom = nextZoom(state.zoom, event);
    const window = zoomToRestore(state.zoom, state.axis);
    const key = window ? `${window.min}:${window.max}` : '';
    if (key === state.askedWindow) return;
    state.askedWindow = key;
    clearTimeout(state.zoomTimer);
    state.zoomTimer = setTimeout(() => {
        state.dotnet?.invokeMethodAsync('ZoomAsync', window?.min ?? null, window?.max ?? null)
            .catch(error => console.debug('zoom request failed', error));
    }, 120);
}

/**
 * Creates a chart in `element`. options: { id, title, series: [{ key, name, color }], axis, dark }; `dotnet` receives
 * zoom requests (ZoomAsync(min, max)). Nothing is drawn before the first setData. Returns the element's width in CSS
 * pixels, so the server sends no more points than the chart can show.
 */
export async function create(element, options, dotnet) {
    const id = options.id;
    destroy(id);
    const state = {
        id,
        element,
        dotnet,
        title: options.title ?? '',
        series: (options.series ?? []).filter(s => s && typeof s.key === 'string'),
        axis: options.axis ?? 'step',
        dark: !!options.dark,
        data: null,
        zoom: null,
        askedWindow: '',
        restoring: false,
        redrawQueued: false,
        drawing: Promise.resolve(),
        chart: null,
        drawnKeys: '',
        // When the chart was created, got its first data and first drew it (page clock, ms): the bench's breakdown.
        timings: { created: performance.now(), data: null, drawn: null },
    };
    charts.set(id, state);
    await loadApexCharts();
    return Math.round(element.clientWidth);
}

/** What to draw: { axis, series: { key: { points: [[x, y], ...], total } } } (y null = a gap). */
export function setData(chartId, data) {
    const state = charts.get(chartId);
    if (!state) return;
    if (data.axis && data.axis !== state.axis) {
        state.axis = data.axis;
        state.zoom = nextZoom(state.zoom, { type: 'axis', axis: data.axis });
        state.askedWindow = '';
    }
    state.data = data.series ?? {};
    state.timings.data ??= performance.now();
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
        if (window) {
            state.restoring = true;
            try { state.chart.zoomX(window.min, window.max); } finally { state.restoring = false; }
        }
    }).catch(error => console.error('chart theme update failed', error));
    return state.drawing;
}

export function destroy(chartId) {
    const state = charts.get(chartId);
    if (!state) return;
    charts.delete(chartId);
    clearTimeout(state.zoomTimer);
    state.chart?.destroy();
}

/** Points the run logged for a series, as the server reported them (test hook). */
export function pointCount(chartId, series) {
    return charts.get(chartId)?.data?.[series]?.total ?? 0;
}

/** Points the chart currently draws for a series (test hook). */
export function renderedCount(chartId, series) {
    const state = charts.get(chartId);
    if (!state?.chart) return 0;
    const index = state.drawnKeys.split('\n').indexOf(series);
    return index < 0 ? 0 : state.chart.w?.config?.series?.[index]?.data?.length ?? 0;
}

/** The [x, y] pairs the chart draws for a series (test hook). */
export function drawnPoints(chartId, series) {
    const state = charts.get(chartId);
    if (!state?.chart) return [];
    const index = state.drawnKeys.split('\n').indexOf(series);
    return index < 0 ? [] : state.chart.w?.config?.series?.[index]?.data ?? [];
}

/** What ApexCharts draws (test hook): series names and colours, theme mode, the x range shown, the toolbar and empty state. */
export function describe(chartId) {
    const state = charts.get(chartId);
    if (!state) return null;
    const chart = state.chart;
    if (!chart) return { series: [], colors: [], mode: state.dark ? 'dark' : 'light', minX: null, maxX: null, zoomed: false, toolbar: false, empty: !!state.element.querySelector('.de-chart-empty') };
    const w = chart.w;
    return {
        series: (w.config.series ?? []).map(s => s.name),
        colors: [...(w.globals.colors ?? [])].slice(0, (w.config.series ?? []).length),
        mode: w.config.theme?.mode ?? 'light',
        minX: w.globals.minX,
        maxX: w.globals.maxX,
        zoomed: !!w.interact?.zoomed,
        toolbar: !!state.element.querySelector('.apexcharts-toolbar'),
        empty: !!state.element.querySelector('.de-chart-empty'),
        xLabels: [...state.element.querySelectorAll('.apexcharts-xaxis-label')].map(l => l.textContent),
    };
}

/** When each chart was created, got its first data and first drew it, on the page's clock (bench hook). */
export function timings() {
    return [...charts.values()].map(state => ({ id: state.id, ...state.timings }));
}

/** Ids of the charts on the page (test hook). */
export function chartIds() {
    return [...charts.keys()];
}

globalThis.deepxCharts = { pointCount, renderedCount, drawnPoints, describe, chartIds, timings };
