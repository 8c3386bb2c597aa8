// The ECharts core with everything the console draws, registered once (tree-shaken: line, bar,
// Sankey and box-plot charts with grid, tooltip, legend and zoom). Only `EChart` imports this
// module, dynamically, so that ECharts is downloaded by the pages that draw a chart and only
// when they draw it.
import * as echarts from 'echarts/core';
import { BarChart, BoxplotChart, LineChart, SankeyChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, SankeyChart, BoxplotChart, GridComponent, LegendComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export { echarts };
