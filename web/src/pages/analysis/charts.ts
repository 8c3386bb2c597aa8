// Chart types only the analysis pages draw: registered with the same ECharts core the shared
// `EChart` wrapper uses (importing this module is enough).
import * as echarts from 'echarts/core';
import { BoxplotChart, SankeyChart } from 'echarts/charts';

echarts.use([SankeyChart, BoxplotChart]);

export const SANKEY_READY = true;
