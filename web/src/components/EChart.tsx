// A thin React wrapper over ECharts. ECharts itself (`echartsCore.ts`, about 600 KiB) is loaded
// on demand the first time a chart is drawn, so that pages without charts never download it and
// pages with charts show their numbers without waiting for it: until it has arrived the chart
// keeps its place (same size, aria-busy), without a loading marker of its own. The chart
// follows its container's size.
import { useEffect, useRef, useState } from 'react';
import type { ECharts, EChartsCoreOption } from 'echarts/core';
import { useT } from '../i18n';

export const PALETTE = ['#1f5fa8', '#e0962b', '#2f9e77', '#c4474f', '#7a5cc0', '#3aa3c2', '#8c8c3a', '#b5568f'];

type Core = typeof import('./echartsCore');
let core: Promise<Core> | null = null;

/** Loads ECharts once (a failed load is tried again by the next chart). */
function loadECharts(): Promise<Core> {
  if (!core) {
    core = import('./echartsCore').catch((e: unknown) => {
      core = null;
      throw e;
    });
  }
  return core;
}

interface Props {
  option: EChartsCoreOption;
  height?: number;
  /** Accessible description of the chart (the same numbers are in a table next to it). */
  label: string;
}

export function EChart({ option, height = 280, label }: Props) {
  const t = useT();
  const ref = useRef<HTMLDivElement>(null);
  const chartRef = useRef<ECharts | null>(null);
  const optionRef = useRef(option);
  optionRef.current = option;
  const [state, setState] = useState<'loading' | 'drawn' | 'failed'>('loading');

  useEffect(() => {
    let disposed = false;
    let ro: ResizeObserver | null = null;
    loadECharts()
      .then(({ echarts }) => {
        const el = ref.current;
        if (disposed || !el) return;
        const chart = echarts.init(el, undefined, { renderer: 'canvas' });
        chartRef.current = chart;
        chart.setOption({ color: PALETTE, ...optionRef.current }, { notMerge: true });
        ro = new ResizeObserver(() => chart.resize());
        ro.observe(el);
        setState('drawn');
      })
      .catch(() => {
        if (!disposed) setState('failed');
      });
    return () => {
      disposed = true;
      ro?.disconnect();
      chartRef.current?.dispose();
      chartRef.current = null;
    };
  }, []);

  useEffect(() => {
    chartRef.current?.setOption({ color: PALETTE, ...option }, { notMerge: true });
  }, [option]);

  if (state === 'failed') {
    return (
      <p className="chart chart-failed muted small" style={{ minHeight: height }}>
        {t('common.chartFailed')}
      </p>
    );
  }
  return <div ref={ref} className="chart" style={{ height }} role="img" aria-label={label} aria-busy={state === 'loading'} />;
}
