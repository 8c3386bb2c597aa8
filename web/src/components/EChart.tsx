// A thin React wrapper over ECharts. ECharts itself (`echartsCore.ts`, about 600 KiB) is loaded
// on demand the first time a chart is drawn, so that pages without charts never download it and
// pages with charts show their numbers without waiting for it: a chart starts loading after the
// browser has painted what came with it, and until it is drawn it keeps its place (same size,
// aria-busy), without a loading marker of its own. The chart follows its container's size.
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
  /** Not yet: the chart keeps its place until this is false (e.g. until the page's numbers are all in). */
  hold?: boolean;
  /** Called with ECharts' event parameters when a data item (bar, node, link) is clicked. */
  onClick?: (params: { dataType?: string; data?: unknown; name?: string }) => void;
}

export function EChart({ option, height = 280, label, hold = false, onClick }: Props) {
  const t = useT();
  const ref = useRef<HTMLDivElement>(null);
  const chartRef = useRef<ECharts | null>(null);
  const optionRef = useRef(option);
  optionRef.current = option;
  const clickRef = useRef(onClick);
  clickRef.current = onClick;
  const [state, setState] = useState<'loading' | 'drawn' | 'failed'>('loading');
  // Once released, a chart stays drawn (a later `hold` does not take it away).
  const [go, setGo] = useState(!hold);
  useEffect(() => {
    if (!hold) setGo(true);
  }, [hold]);

  useEffect(() => {
    if (!go) return;
    let disposed = false;
    let ro: ResizeObserver | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const draw = () => {
      loadECharts()
        .then(({ echarts }) => {
          const el = ref.current;
          if (disposed || !el) return;
          const chart = echarts.init(el, undefined, { renderer: 'canvas' });
          chartRef.current = chart;
          chart.setOption({ color: PALETTE, ...optionRef.current }, { notMerge: true });
          chart.on('click', (params) => clickRef.current?.(params as Parameters<NonNullable<Props['onClick']>>[0]));
          ro = new ResizeObserver(() => chart.resize());
          ro.observe(el);
          setState('drawn');
        })
        .catch(() => {
          if (!disposed) setState('failed');
        });
    };
    // After the next paint: evaluating ECharts and drawing take a while, the numbers come first.
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(draw, 0);
    });
    return () => {
      disposed = true;
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      ro?.disconnect();
      chartRef.current?.dispose();
      chartRef.current = null;
    };
  }, [go]);

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
