// Where the health monitor's pieces live on a server, and the restore drill's state: shared by their renderers and by
// `status`, which reads their state.
import type { Layout } from '../plan/layout.js';

/** Named apart from any process (`<prefix>-monitor` could be the app's own). */
export const monitorUnitName = (layout: Pick<Layout, 'unitPrefix'>) => `${layout.unitPrefix}-slipway-monitor.service`;
export const monitorTimerName = (layout: Pick<Layout, 'unitPrefix'>) => `${layout.unitPrefix}-slipway-monitor.timer`;
export const monitorScriptPath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.sh`;
export const monitorEnvPath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.env`;
/** `STATE SINCE DETAIL`: the outcome, since when it has held (ISO time), and what fails. Read by `status`. */
export const monitorStatePath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/monitor.state`;

/** The restore drill's `RESULT AT BACKUP FROM DETAIL`: ok or failed, when (ISO time), which dump, from where, what was found. */
export const drillStatePath = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/restore-drill.state`;
