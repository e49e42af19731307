// A time-series chart on uPlot (made for many points, ~45 KB): the x axis is time, each series a
// line; colours from the theme's CSS variables, redrawn when the theme or the width changes.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { theme } from '../theme.ts';
import { useSignal } from '../signal.ts';

export interface ChartSeries {
  readonly label: string;
  /** One value per time of `times`; null leaves a gap. */
  readonly values: readonly (number | null)[];
}

export interface TimeChartProps {
  readonly title: string;
  /** Times in ms since the epoch, ascending. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  /** Appended to values on the y axis and in the legend ("B/s", "ms"). */
  readonly unit?: string;
  readonly height?: number;
  readonly testid?: string;
  /** The time span shown, ms since the epoch (e.g. the last hour, whatever points there are yet); absent: the points' own span. */
  readonly rangeMs?: readonly [number, number];
}

const PALETTE = ['--chart-1', '--chart-2', '--chart-3', '--chart-4'];

/** A tick's time of day: seconds shown when the ticks are under a minute apart. */
function clock(seconds: number, stepSeconds: number): string {
  const date = new Date(seconds * 1000);
  const pad = (value: number) => String(value).padStart(2, '0');
  const minutes = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return stepSeconds < 60 ? `${minutes}:${pad(date.getSeconds())}` : minutes;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function TimeChart(props: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // Read by the x scale at every redraw, so a range moving with the clock needs no new chart.
  const range = useRef(props.rangeMs);
  range.current = props.rangeMs;
  const currentTheme = useSignal(theme);
  const shape = `${props.series.map((series) => series.label).join('|')}|${props.unit ?? ''}|${currentTheme}`;
  const data = [props.times.map((ms) => ms / 1000), ...props.series.map((series) => [...series.values])] as uPlot.AlignedData;

  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    const unit = props.unit ?? '';
    const text = cssVar('--text');
    const grid = cssVar('--border');
    const options: uPlot.Options = {
      width: Math.max(200, element.clientWidth),
      height: props.height ?? 220,
      series: [
        {},
        ...props.series.map((series, index) => ({
          label: series.label,
          stroke: cssVar(PALETTE[index % PALETTE.length]!),
          width: 2,
          value: (_: uPlot, value: number | null) => (value === null ? '–' : `${value.toFixed(value < 10 ? 2 : 0)} ${unit}`),
        })),
      ],
      axes: [
        // Times as HH:MM (with seconds when ticks are under a minute apart), in the browser's zone: uPlot's default adds the date to ticks, and they overlap.
        { stroke: text, grid: { stroke: grid }, space: 90, values: (_: uPlot, ticks: number[]) => ticks.map((tick, i) => clock(tick, i > 0 ? tick - ticks[i - 1]! : ticks.length > 1 ? ticks[1]! - tick : 60)) },
        {
          stroke: text,
          grid: { stroke: grid },
          // Wide enough for the longest tick label ("2000 msg/s" was cut at a fixed 70 px): about 7 px a character at uPlot's 12 px font.
          size: (_: uPlot, values: string[] | null) => (values === null ? 70 : Math.max(50, 20 + 7 * Math.max(0, ...values.map((value) => String(value).length)))),
          values: (_: uPlot, ticks: number[]) => ticks.map((tick) => `${tick} ${unit}`),
        },
      ],
      legend: { show: true },
      scales: { x: { time: true, range: (_: uPlot, min: number, max: number): uPlot.Range.MinMax => (range.current === undefined ? [min, max] : [range.current[0] / 1000, range.current[1] / 1000]) } },
    };
    const created = new uPlot(options, data, element);
    plot.current = created;
    const observer = new ResizeObserver(() => created.setSize({ width: Math.max(200, element.clientWidth), height: props.height ?? 220 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      created.destroy();
      plot.current = null;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <figure class="chart" data-testid={props.testid} data-points={props.times.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={host} />
    </figure>
  );
}
