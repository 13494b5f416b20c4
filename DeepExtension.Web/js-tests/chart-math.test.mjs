// node --test DeepExtension.Web/js-tests/chart-math.test.mjs  (Node 20's built-in runner; run by ChartMathScriptTests)
import test from 'node:test';
import assert from 'node:assert/strict';
import { ema, downsample, xOf, axisTitle, clampAlpha, project, SeriesProjection, nextZoom, zoomToRestore, colorsOf, themeOptions } from '../wwwroot/js/chart-math.js';

test('ema with alpha 0 returns the raw values', () => {
    assert.deepEqual(ema([3, 1, 2], 0), [3, 1, 2]);
});

test('ema seeds with the first value and weights the history by alpha', () => {
    const out = ema([10, 0, 0], 0.5);
    assert.deepEqual(out, [10, 5, 2.5]);
});

test('ema keeps gaps as null without resetting the average', () => {
    assert.deepEqual(ema([null, 4, NaN, 0], 0.5), [null, 4, null, 2]);
});

test('clampAlpha bounds the factor', () => {
    assert.equal(clampAlpha(-1), 0);
    assert.equal(clampAlpha('x'), 0);
    assert.equal(clampAlpha(0.99), 0.99);
    assert.equal(clampAlpha(5), 0.999);
});

test('xOf maps a point to step, epoch or elapsed time', () => {
    const p = { step: 7, epoch: 0.5, elapsed: 12.5, y: 1 };
    assert.equal(xOf(p, 'step'), 7);
    assert.equal(xOf(p, 'epoch'), 0.5);
    assert.equal(xOf(p, 'elapsed'), 12.5);
    assert.equal(xOf(p, 'unknown'), 7);
    assert.equal(axisTitle('elapsed'), 'Elapsed (s)');
});

test('downsample leaves short series alone', () => {
    const pts = [[1, 1], [2, 2]];
    assert.equal(downsample(pts, 2000), pts);
});

test('downsample of 100k points keeps at most max, the ends, x order and the extremes', () => {
    const n = 100_000;
    const pts = Array.from({ length: n }, (_, i) => [i, Math.sin(i / 100)]);
    pts[54321][1] = 50;   // a spike
    pts[65432][1] = -50;  // a dip
    const out = downsample(pts, 2000);
    assert.ok(out.length <= 2000, `kept ${out.length}`);
    assert.ok(out.length > 1000);
    assert.deepEqual(out[0], pts[0]);
    assert.deepEqual(out.at(-1), pts[n - 1]);
    for (let i = 1; i < out.length; i++) assert.ok(out[i][0] > out[i - 1][0], 'x ascending');
    assert.ok(out.some(p => p[1] === 50));
    assert.ok(out.some(p => p[1] === -50));
});

test('project maps, smooths and downsamples', () => {
    const raw = [{ step: 1, epoch: 0.1, elapsed: 1, y: 4 }, { step: 2, epoch: 0.2, elapsed: 2, y: 0 }];
    assert.deepEqual(project(raw, 'epoch', 0.5, 2000), [[0.1, 4], [0.2, 2]]);
});

test('nextZoom keeps a zoomed window across live appends and smoothing', () => {
    let zoom = nextZoom(null, { type: 'zoomed', axis: 'step', min: 1, max: 3 });
    assert.deepEqual(zoom, { axis: 'step', min: 1, max: 3 });
    zoom = nextZoom(zoom, { type: 'append' });
    zoom = nextZoom(zoom, { type: 'smoothing' });
    assert.deepEqual(zoomToRestore(zoom, 'step'), { min: 1, max: 3 });
});

test('nextZoom: reset, and ApexCharts reporting a reset as zoomed without a range, return to the full range', () => {
    const zoom = { axis: 'step', min: 1, max: 3 };
    assert.equal(nextZoom(zoom, { type: 'reset' }), null);
    assert.equal(nextZoom(zoom, { type: 'zoomed', axis: 'step', min: undefined, max: undefined }), null);
    assert.equal(nextZoom(zoom, { type: 'zoomed', axis: 'step', min: 5, max: 5 }), null);
    assert.equal(zoomToRestore(null, 'step'), null);
});

test('nextZoom: a pan replaces the window; without any zoom appends keep the full range', () => {
    assert.deepEqual(nextZoom({ axis: 'step', min: 1, max: 3 }, { type: 'zoomed', axis: 'step', min: 2, max: 4 }), { axis: 'step', min: 2, max: 4 });
    assert.equal(nextZoom(null, { type: 'append' }), null);
    assert.equal(nextZoom(undefined, { type: 'append' }), null);
});

test('nextZoom drops a window when the x axis changes units, keeps it when the axis stays', () => {
    const zoom = { axis: 'step', min: 10, max: 30 };
    assert.equal(nextZoom(zoom, { type: 'axis', axis: 'epoch' }), null);
    assert.equal(nextZoom(zoom, { type: 'axis', axis: 'step' }), zoom);
    assert.equal(zoomToRestore(zoom, 'elapsed'), null);
});

test('colorsOf gives one colour per series only when every series has one', () => {
    assert.deepEqual(colorsOf([{ key: 'a', color: '#111' }, { key: 'b', color: '#222' }]), ['#111', '#222']);
    assert.equal(colorsOf([{ key: 'a', color: '#111' }, { key: 'b' }]), undefined);
    assert.equal(colorsOf([]), undefined);
    assert.equal(colorsOf(null), undefined);
});

test('themeOptions: dark mode uses the dark theme with light axis text on a transparent background', () => {
    const dark = themeOptions(true);
    const light = themeOptions(false);
    assert.equal(dark.theme.mode, 'dark');
    assert.equal(light.theme.mode, 'light');
    assert.equal(dark.tooltip.theme, 'dark');
    assert.equal(dark.chart.background, 'transparent');
    assert.notEqual(dark.chart.foreColor, light.chart.foreColor);
    // Axis text must be lighter than the grey MudBlazor's dark surface (#373740): compare red channels.
    assert.ok(parseInt(dark.chart.foreColor.slice(1, 3), 16) > 0x80);
    assert.ok(parseInt(light.chart.foreColor.slice(1, 3), 16) < 0x80);
});

test('SeriesProjection fed in chunks equals one pass of ema over the whole series, gaps included', () => {
    const raw = [];
    for (let i = 0; i < 500; i++) raw.push({ step: i + 1, epoch: i / 100, elapsed: i * 0.5, y: i % 37 === 0 ? null : Math.sin(i) * 3 + i / 50 });
    const whole = ema(raw.map(p => p.y), 0.9).map((y, i) => [raw[i].elapsed, y]);
    const live = new SeriesProjection('elapsed', 0.9);
    for (let start = 0; start < raw.length; start += 7) live.push(raw.slice(start, start + 7));
    assert.deepEqual(live.points, whole);
    assert.deepEqual(project(raw, 'elapsed', 0.9, 100), downsample(whole, 100));
});
