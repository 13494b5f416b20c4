// node --test DeepExtension.Web/js-tests/chart-math.test.mjs  (Node 20's built-in runner; run by ChartMathScriptTests)
import test from 'node:test';
import assert from 'node:assert/strict';
import { axisTitle, nextZoom, zoomToRestore, colorsOf, themeOptions, isWholeStep, stepTickAmount, flatRange, formatNumber } from '../wwwroot/js/chart-math.js';

test('formatNumber prints float noise around zero as 0, small real values in scientific notation', () => {
    assert.equal(formatNumber(-5.42e-20), '0');
    assert.equal(formatNumber(3e-13), '0');
    assert.equal(formatNumber(0), '0');
    assert.equal(formatNumber(2e-6), '2.00e-6');
    assert.equal(formatNumber(0.123456), '0.12346');
    assert.equal(formatNumber(null), '');
});

test('axisTitle names the elapsed axis as the train page does: training time', () => {
    assert.equal(axisTitle('elapsed'), 'Training time (s)');
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


test('isWholeStep labels only whole steps', () => {
    assert.equal(isWholeStep(3), true);
    assert.equal(isWholeStep(2.9999999999), true);
    assert.equal(isWholeStep(2.5), false);
    assert.equal(isWholeStep(NaN), false);
});

test('stepTickAmount gives one tick per step on short runs and at most 10', () => {
    assert.equal(stepTickAmount(1, 3), 2);
    assert.equal(stepTickAmount(1, 1), 1);
    assert.equal(stepTickAmount(1, 100000), 10);
    assert.equal(stepTickAmount(2, 6), 4);
});

test('flatRange frames a constant line around its value and leaves varying lines to ApexCharts', () => {
    const small = flatRange([1e-4, null, 1e-4]);
    assert.ok(Math.abs(small.min - 5e-5) < 1e-12 && Math.abs(small.max - 1.5e-4) < 1e-12);
    assert.deepEqual(flatRange([0, 0]), { min: -1, max: 1 });
    assert.deepEqual(flatRange([-2, -2]), { min: -3, max: -1 });
    assert.equal(flatRange([1, 2]), null);
    assert.equal(flatRange([null]), null);
});
