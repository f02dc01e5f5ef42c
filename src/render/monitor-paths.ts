// Where the health monitor's pieces live on a server: shared by its renderer and by `status`, which reads its state.
import type { Layout } from '../plan/layout.js';

/** Named apart from any process (`<prefix>-monitor` could be the app's own). */
export const monitorUnitName = (layout: Pick<Layout, 'unitPrefix'>) => `${layout.unitPrefix}-slipway-monitor.service`;
export const monitorTimerName = (layout: Pick<Layout, 'unitPrefix'>) => `${layout.unitPrefix}-slipway-monitor.timer`;
export const monitorScriptPath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.sh`;
export const monitorEnvPath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.env`;
/** `STATE SINCE DETAIL`: the outcome, since when it has held (ISO time), and what fails. Read by `status`. */
export const monitorStatePath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.state`;

