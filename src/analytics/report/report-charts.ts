import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';

/** Charts as inline SVG, drawn on the server by ECharts' SSR renderer: the page needs no script. */

const WIDTH = 640;
const PALETTE = ['#2463eb', '#16a34a', '#f59e0b', '#db2777', '#7c3aed', '#0891b2', '#dc2626', '#65a30d', '#94a3b8'];
const TEXT = { fontFamily: 'system-ui, sans-serif', fontSize: 14 };

export interface Slice {
  name: string;
  value: number;
}

/** One chart, rendered and disposed: ECharts escapes the text it draws. */
export function renderSvg(option: EChartsOption, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, color: PALETTE, textStyle: TEXT, ...option });
    // The hover rules ECharts adds are of no use on a static page, and a <style> element would need its own CSP hash.
    return chart.renderToSVGString({ useViewBox: true }).replace(/<style\b[^>]*>[\s\S]*?<\/style>/g, '');
  } finally {
    chart.dispose();
  }
}

/** Horizontal bars, the largest on top: the funnel, links, providers. */
export function barChart(bars: Slice[], format: (b: Slice) => string): string {
  const height = 60 + bars.length * 36;
  return renderSvg(
    {
      grid: { left: 24, right: 110, top: 10, bottom: 10, containLabel: true },
      xAxis: { type: 'value', show: false },
      yAxis: {
        type: 'category',
        inverse: true,
        data: bars.map((b) => b.name),
        axisTick: { show: false },
        axisLabel: { width: 200, overflow: 'truncate', fontSize: 14 },
      },
      series: [
        {
          type: 'bar',
          data: bars.map((b) => b.value),
          barMaxWidth: 26,
          colorBy: 'data',
          label: { show: true, position: 'right', formatter: (p: { dataIndex: number }) => format(bars[p.dataIndex]) },
        },
      ],
    },
    height,
  );
}

/** A ring of shares with a legend (human vs machine opens). */
export function donutChart(slices: Slice[]): string {
  return renderSvg(
    {
      legend: { bottom: 0 },
      series: [
        {
          type: 'pie',
          radius: ['40%', '68%'],
          center: ['50%', '45%'],
          data: slices,
          label: { formatter: '{b}: {c} ({d}%)' },
        },
      ],
    },
    300,
  );
}

export interface LineSeries {
  name: string;
  values: number[];
}

/** Counts over time, one line per series (hourly opens and clicks). */
export function lineChart(labels: string[], series: LineSeries[]): string {
  return renderSvg(
    {
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: labels, boundaryGap: false, axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1 },
      series: series.map((s) => ({ type: 'line', name: s.name, data: s.values, showSymbol: labels.length <= 48 })),
    },
    320,
  );
}

export interface IntervalRow {
  name: string;
  value: number;
  low: number;
  high: number;
}

/** A value with its interval per row (variants' metric): a bar from low to high, a dot at the value. */
export function intervalChart(rows: IntervalRow[], format: (v: number) => string): string {
  const height = 70 + rows.length * 44;
  const whisker = { stroke: PALETTE[0], lineWidth: 2 };
  return renderSvg(
    {
      grid: { left: 24, right: 40, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: 'value', scale: true, axisLabel: { formatter: (v: number) => format(v), hideOverlap: true } },
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => r.name), axisTick: { show: false }, axisLabel: { width: 160, overflow: 'truncate' } },
      series: [
        {
          type: 'custom',
          data: rows.map((r, i) => [i, r.low, r.high]),
          encode: { y: 0, x: [1, 2] },
          renderItem: (_params, api) => {
            const y = api.value(0) as number;
            const [x1, cy] = api.coord([api.value(1), y]);
            const [x2] = api.coord([api.value(2), y]);
            return {
              type: 'group',
              children: [
                { type: 'line', shape: { x1, y1: cy, x2, y2: cy }, style: { ...whisker, lineWidth: 4, opacity: 0.45 } },
                { type: 'line', shape: { x1, y1: cy - 8, x2: x1, y2: cy + 8 }, style: whisker },
                { type: 'line', shape: { x1: x2, y1: cy - 8, x2, y2: cy + 8 }, style: whisker },
              ],
            };
          },
        },
        {
          type: 'scatter',
          data: rows.map((r, i) => [r.value, i]),
          symbolSize: 12,
          itemStyle: { color: PALETTE[0] },
          label: { show: true, position: 'top', formatter: (p: { dataIndex: number }) => format(rows[p.dataIndex].value) },
        },
      ],
    },
    height,
  );
}
