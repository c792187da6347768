import type { AnyCommandSpec } from './framework';
import actionsList from './actions-list';
import demo from './demo';
import dev from './dev';
import doctor from './doctor';
import gateApprove from './gate-approve';
import gateReject from './gate-reject';
import labStart from './lab-start';
import rehearse from './rehearse';
import runAbort from './run-abort';
import runList from './run-list';
import runPause from './run-pause';
import runReschedule from './run-reschedule';
import runResume from './run-resume';
import runStart from './run-start';
import runStatus from './run-status';
import runbookGraph from './runbook-graph';
import runbookShow from './runbook-show';
import runbookValidate from './runbook-validate';
import stepRetry from './step-retry';
import stepSkip from './step-skip';
import taskComplete from './task-complete';
import worker from './worker';

/** Every command, one file each (cli/<group>-<verb>.ts). */
export const COMMANDS: AnyCommandSpec[] = [
  actionsList,
  demo,
  dev,
  doctor,
  gateApprove,
  gateReject,
  labStart,
  rehearse,
  runAbort,
  runList,
  runPause,
  runReschedule,
  runResume,
  runStart,
  runStatus,
  runbookGraph,
  runbookShow,
  runbookValidate,
  stepRetry,
  stepSkip,
  taskComplete,
  worker,
];
