// The run directory as one consumer of the run's events: what the writer records of each kind.
// The engine subscribes it ahead of the CLI's listener, so what is on disk is never behind what was shown.
import type { RunEventHandlers } from '../engine/events.js';
import type { RunWriter } from './writer.js';

const ignore = (): void => {};

export function recordEvents(writer: RunWriter): RunEventHandlers {
  return {
    // The writer opened the run directory (and journaled run_start) when the run was created, before any event.
    run_start: ignore,
    plays: (e) => writer.writeJson('plays.json', { plays: e.plays }),
    host_phase: (e) => writer.onPhase(e.host, e.phase),
    output: (e) => writer.onOutput(e.host, e.stream, e.data, e.step),
    step_done: (e) => writer.onStepDone(e.step),
    step_already_done: (e) => writer.onStepDone(e.step),
    // The step blocks' grouping: every result in it was recorded by its own step_done.
    step_complete: ignore,
    files_done: (e) => {
      for (const f of e.files) writer.onFileDone(e.host, f.path, f.bytes, f.status);
    },
    host_done: (e) => writer.onDone(e.result),
    gate_reference: (e) => writer.journalGate(e.play, e.step, e.majority),
    // Its majority was recorded by gate_reference, its hosts' results by their step_done.
    gate_verdict: ignore,
    stop_requested: ignore,
    warning: ignore,
    hostkeys_recorded: ignore,
    // The writer's finish() closed the run: run_done is announced with the record it wrote.
    run_done: ignore,
  };
}
