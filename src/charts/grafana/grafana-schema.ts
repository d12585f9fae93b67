/**
 * Grafana's published dashboard schema (the npm package @grafana/schema, types only, so nothing of
 * it ships) as the dashboards here are written: plain JSON. Its enums are TypeScript string enums,
 * which a JSON string literal cannot be assigned to; `AsJson` turns each into the union of its
 * values, so `"background"` checks against BigValueColorMode and a misspelling fails to compile.
 * The test of the dashboards compiles the emitted JSON against the same types.
 */
import type { Dashboard, Panel, VariableModel } from '@grafana/schema';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type { Options as TableOptions } from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type { Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** A schema type as JSON can satisfy it: string enums become their values, number enums numbers. */
export type AsJson<T> = T extends string
  ? `${T}`
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends readonly (infer U)[]
        ? AsJson<U>[]
        : T extends object
          ? { [K in keyof T]: AsJson<T[K]> }
          : T;

export type DashboardJson = AsJson<Omit<Dashboard, 'panels'>> & { panels: PanelJson[] };
/** Panel leaves its options untyped (a record); each visualisation's own options type is checked here. */
type PanelWith<Type extends string, Options> = AsJson<Omit<Panel, 'type' | 'options'>> & { type: Type; options: AsJson<Options> };
export type StatPanelJson = PanelWith<'stat', StatOptions>;
export type TablePanelJson = PanelWith<'table', TableOptions>;
export type TimeSeriesPanelJson = PanelWith<'timeseries', TimeSeriesOptions>;
export type PanelJson = StatPanelJson | TablePanelJson | TimeSeriesPanelJson;
export type VariableJson = AsJson<VariableModel>;
