// A thin React wrapper over ECharts (tree-shaken: line and bar charts with grid, tooltip,
// legend). The chart follows its container's size.
import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, DataZoomComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export const PALETTE = ['#1f5fa8', '#e0962b', '#2f9e77', '#c4474f', '#7a5cc0', '#3aa3c2', '#8c8c3a', '#b5568f'];

interface Props {
  option: EChartsCoreOption;
  height?: number;
  /** Accessible description of the chart (the same numbers are in a table next to it). */
  label: string;
}

export function EChart({ option, height = 280, label }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const chartRef = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!ref.current) return;
    const chart = echarts.init(ref.current, undefined, { renderer: 'canvas' });
    chartRef.current = chart;
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(ref.current);
    return () => {
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
  }, []);

  useEffect(() => {
    chartRef.current?.setOption({ color: PALETTE, ...option }, { notMerge: true });
  }, [option]);

  return <div ref={ref} className="chart" style={{ height }} role="img" aria-label={label} />;
}
