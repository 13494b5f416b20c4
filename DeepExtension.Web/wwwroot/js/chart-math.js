// Pure helpers for the metric charts (no DOM, no ApexCharts): tested by `node --test` (js/tests/chart-math.test.mjs).

/** The x value of a raw point ({step, epoch, elapsed, y}) for an axis: 'step' | 'epoch' | 'elapsed'. */
export function xOf(point, axis) {
    switch (axis) {
        case 'epoch': return point.epoch;
        case 'elapsed': return point.elapsed;
        default: return point.step;
    }
}

/** Axis title for an axis key. */
export function axisTitle(axis) {
    switch (axis) {
        case 'epoch': return 'Epoch';
        case 'elapsed': return 'Elapsed (s)';
        default: return 'Step';
    }
}

/** Clamps a smoothing factor to [0, 0.999]; anything not a number is 0 (raw). */
export function clampAlpha(alpha) {
    const a = Number(alpha);
    if (!Number.isFinite(a) || a <= 0) return 0;
    return Math.min(a, 0.999);
}

/**
 * Exponential moving average: s = alpha * s + (1 - alpha) * y, seeded with the first finite value.
 * alpha 0 returns the values unchanged. Gaps (null, NaN, ±Infinity) stay gaps (null) and do not reset the average.
 */
export function ema(values, alpha) {
    const a = clampAlpha(alpha);
    const out = new Array(values.length);
    let s = null;
    for (let i = 0; i < values.length; i++) {
        const y = values[i];
        if (y === null || y === undefined || !Number.isFinite(y)) {
            out[i] = null;
            continue;
        }
        s = s === null || a === 0 ? y : a * s + (1 - a) * y;
        out[i] = s;
    }
    return out;
}

/**
 * Keeps at most `max` points of [[x, y], ...] (x ascending) by min/max bucketing: the first and last points stay,
 * and every bucket in between contributes its lowest and highest y in x order, so spikes survive.
 * Points with a null y are dropped from buckets but a series shorter than `max` is returned as is.
 */
export function downsample(points, max) {
    const n = points.length;
    if (!Number.isFinite(max) || max <= 0 || n <= max) return points;
    if (max < 4) return [points[0], points[n - 1]].slice(0, Math.max(1, max));
    const buckets = Math.floor((max - 2) / 2);
    const inner = n - 2;
    const size = inner / buckets;
    const out = [points[0]];
    for (let b = 0; b < buckets; b++) {
        const start = 1 + Math.floor(b * size);
        const end = Math.min(n - 1, 1 + Math.floor((b + 1) * size));
        let lo = -1, hi = -1;
        for (let i = start; i < end; i++) {
            const y = points[i][1];
            if (y === null || !Number.isFinite(y)) continue;
            if (lo < 0 || y < points[lo][1]) lo = i;
            if (hi < 0 || y > points[hi][1]) hi = i;
        }
        if (lo < 0) continue;
        if (lo === hi) out.push(points[lo]);
        else if (lo < hi) out.push(points[lo], points[hi]);
        else out.push(points[hi], points[lo]);
    }
    out.push(points[n - 1]);
    return out;
}

/**
 * One series mapped to an axis and EMA-smoothed, kept up to date point by point: a live append costs only its new
 * points (the average carries over), not a pass over the whole history. Gaps follow `ema`: null, no reset.
 */
export class SeriesProjection {
    constructor(axis, alpha) {
        this.axis = axis;
        this.alpha = clampAlpha(alpha);
        this.points = [];
        this.average = null;
    }

    /** Adds raw points ({step, epoch, elapsed, y}) in order; returns this. */
    push(raw) {
        for (const p of raw) {
            const y = p.y;
            let value = null;
            if (y !== null && y !== undefined && Number.isFinite(y)) {
                this.average = this.average === null || this.alpha === 0 ? y : this.alpha * this.average + (1 - this.alpha) * y;
                value = this.average;
            }
            this.points.push([xOf(p, this.axis), value]);
        }
        return this;
    }
}

/** Raw points of one series → what the chart draws: mapped to the axis, smoothed, downsampled. */
export function project(raw, axis, alpha, max) {
    return downsample(new SeriesProjection(axis, alpha).push(raw).points, max);
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
