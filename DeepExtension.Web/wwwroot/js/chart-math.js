// Pure helpers for the metric charts (no DOM, no ApexCharts): tested by `node --test` (js-tests/chart-math.test.mjs).
// Smoothing and reduction of long histories happen on the server (DeepExtension.Core MetricSeries), not here.

/** Axis title for an axis key. */
export function axisTitle(axis) {
    switch (axis) {
        case 'epoch': return 'Epoch';
        case 'elapsed': return 'Training time (s)';
        default: return 'Step';
    }
}

/** Below this magnitude a number prints as 0: float noise around a zero (as DisplayFormat.NearZero on the server). */
export const NearZero = 1e-12;

/** A chart number (axis label, tooltip): near-zero noise as 0, very small or large ones in scientific notation, else 5 significant digits. */
export function formatNumber(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return '';
    const a = Math.abs(v);
    if (a < NearZero) return '0';
    if (a < 1e-3 || a >= 1e6) return v.toExponential(2);
    return Number(v.toPrecision(5)).toString();
}

/** True for a usable x window: two finite numbers, min below max. */
function isWindow(min, max) {
    return Number.isFinite(min) && Number.isFinite(max) && min < max;
}

/**
 * The user's x window (zoom) after a chart event, or null for the full range. `zoom` is the current one
 * ({ axis, min, max } or null); events:
 *   { type: 'zoomed', axis, min, max }  the user zoomed or panned (ApexCharts reports a reset as zoomed with no min/max)
 *   { type: 'reset' }                  the reset button
 *   { type: 'axis', axis }             the x axis changed: a window in other units means nothing there
 *   { type: 'append' } or anything else (live points, smoothing) keeps the window as it is.
 */
export function nextZoom(zoom, event) {
    switch (event?.type) {
        case 'zoomed':
            return isWindow(event.min, event.max) ? { axis: event.axis, min: event.min, max: event.max } : null;
        case 'reset':
            return null;
        case 'axis':
            return zoom && zoom.axis === event.axis ? zoom : null;
        default:
            return zoom ?? null;
    }
}

/** The window to put back after redrawing on `axis` (ApexCharts' updateSeries returns to the full range), or null. */
export function zoomToRestore(zoom, axis) {
    return zoom && zoom.axis === axis && isWindow(zoom.min, zoom.max) ? { min: zoom.min, max: zoom.max } : null;
}

/** True when an x value is a whole step (within rounding): only those get a label on a step axis. */
export function isWholeStep(v) {
    return Number.isFinite(v) && Math.abs(v - Math.round(v)) < 1e-6;
}

/** Ticks for a step axis from `min` to `max`: one per step for short runs, at most 10, never between two steps. */
export function stepTickAmount(min, max) {
    if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return 1;
    return Math.max(1, Math.min(10, Math.round(max - min)));
}

/**
 * The y range for a flat line (every finite y equal), which ApexCharts would otherwise centre on an arbitrary range
 * where 1e-4 reads as 0: half the value either side (or -1 to 1 around 0). Null when the values vary (ApexCharts
 * scales them itself) or there are none.
 */
export function flatRange(ys) {
    let min = Infinity, max = -Infinity;
    for (const y of ys) {
        if (y === null || y === undefined || !Number.isFinite(y)) continue;
        if (y < min) min = y;
        if (y > max) max = y;
    }
    if (min > max || max - min > Math.abs(max) * 1e-9) return null;
    if (max === 0) return { min: -1, max: 1 };
    const half = Math.abs(max) / 2;
    return { min: min - half, max: max + half };
}

/** Colours for ApexCharts' `colors` option: one per series, or undefined (the theme's palette) unless every series has one. */
export function colorsOf(series) {
    if (!Array.isArray(series) || series.length === 0) return undefined;
    const colors = series.map(s => s?.color);
    return colors.every(c => typeof c === 'string' && c.length > 0) ? colors : undefined;
}

/** ApexCharts options for the console's light or dark theme: readable axis text and grid, transparent background. */
export function themeOptions(dark) {
    return {
        theme: { mode: dark ? 'dark' : 'light' },
        chart: { foreColor: dark ? '#d0d0d8' : '#373d3f', background: 'transparent' },
        grid: { borderColor: dark ? 'rgba(255,255,255,0.12)' : '#e0e0e0' },
        tooltip: { theme: dark ? 'dark' : 'light' },
    };
}
